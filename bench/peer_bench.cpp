// A peer baseline measured in the same run: liboath (OATH Toolkit) validating a TOTP code (RFC
// 6238: HMAC-SHA1 of the time step, dynamic truncation, compare) with a window of 0, so one
// HMAC per call, as a server that accepts only the current step does. It stores nothing and
// charges no attempt: it is the floor a one-time-code check can be read against, not an
// equivalent of check(). A wrong code costs the same at window 0 (one HMAC, then no match).
#include <benchmark/benchmark.h>
#include <liboath/oath.h>

#include <array>
#include <ctime>

namespace {

void BM_Peer_Liboath_TotpValidate(benchmark::State& state) {
  static const int initialised = oath_init();
  if (initialised != OATH_OK) {
    state.SkipWithError("oath_init failed");
    return;
  }
  // A fixed 20-byte secret (RFC 6238's SHA-1 test key) and a fixed time; the code is generated
  // once, outside the loop.
  static constexpr char kSecret[] = "12345678901234567890";
  constexpr std::size_t kSecretBytes = sizeof kSecret - 1;
  constexpr std::time_t kNow = 1'767'225'600;  // 2026-01-01T00:00:00Z
  constexpr unsigned kStep = 30;
  std::array<char, 7> otp{};
  if (oath_totp_generate(kSecret, kSecretBytes, kNow, kStep, 0, 6, otp.data()) != OATH_OK) {
    state.SkipWithError("oath_totp_generate failed");
    return;
  }
  for (auto _ : state) {
    const int position = oath_totp_validate(kSecret, kSecretBytes, kNow, kStep, 0, 0, otp.data());
    if (position != 0) {
      state.SkipWithError("oath_totp_validate refused the current code");
      break;
    }
    benchmark::DoNotOptimize(position);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Peer_Liboath_TotpValidate);

}  // namespace
