// Shared by the benchmarks: a sender that keeps codes (or discards them), a pool of live
// challenges with their codes, and a heap-usage probe. Public API only.
#pragma once

#include <malloc.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "veribind/veribind.hpp"

namespace veribind::bench {

// Keeps the last code, like an SMS gateway's test inbox.
class LastCodeSender final : public Sender {
 public:
  Status send(const Delivery& d) override {
    last_code.assign(d.code);
    return {};
  }
  std::string last_code;
};

class DiscardSender final : public Sender {
 public:
  Status send(const Delivery&) override { return {}; }
};

// A verifier config that lets one process start millions of challenges: the per-identifier send
// budget is not what these benchmarks measure.
// The paths measured, not the limits: no cooldown, no calling-code or global budget, and the
// most sends per identifier allowed. Every counter operation still runs.
inline VerifierConfig bench_config(int max_checks = 5) {
  VerifierConfig c;
  c.max_checks = max_checks;
  c.max_sends_per_hour = 1000;
  c.resend_cooldown = std::chrono::seconds(0);
  c.default_calling_code_budget = 0;
  c.global_sends_per_hour = 0;
  return c;
}

// Inline, fixed-size text, kept in one contiguous array that the benchmarks walk in order: in a
// server the id and code arrive in a request buffer that is hot in cache, so the benchmark should
// not pay a cache miss of its own per check. The store's records are still reached in random
// order (ids are random), which is the cost being measured.
struct LiveChallenge {
  std::array<char, ChallengeId::kTextLength> id_text{};
  std::array<char, VerifierConfig::kMaxCodeLength> code_text{};
  std::uint8_t code_length = 0;
  [[nodiscard]] std::string_view id() const { return {id_text.data(), id_text.size()}; }
  [[nodiscard]] std::string_view code() const { return {code_text.data(), code_length}; }
  // A code of the same length that is not this one.
  [[nodiscard]] std::string_view wrong_code() const {
    return code()[0] == '0' ? std::string_view("1000000000", code_length)
                            : std::string_view("0000000000", code_length);
  }
};

// Starts `n` challenges through `verifier`, each for its own email identifier ("user<k>@..." for
// k = first, first + 1, ...), and appends them to `out`.
inline void start_many(Verifier& verifier, LastCodeSender& sender, std::size_t n,
                       std::vector<LiveChallenge>& out, std::size_t first = 0) {
  out.reserve(out.size() + n);
  for (std::size_t i = first; i < first + n; ++i) {
    const EmailAddress email =
        EmailAddress::parse("user" + std::to_string(i) + "@example.com").value();
    auto c = verifier.start(email, Purpose::kSignup);
    if (!c || !c->sent() || c->id.size() != ChallengeId::kTextLength) std::abort();
    LiveChallenge& live = out.emplace_back();
    std::copy(c->id.begin(), c->id.end(), live.id_text.begin());
    std::copy(sender.last_code.begin(), sender.last_code.end(), live.code_text.begin());
    live.code_length = static_cast<std::uint8_t>(sender.last_code.size());
  }
}

inline std::vector<LiveChallenge> start_many(Verifier& verifier, LastCodeSender& sender,
                                             std::size_t n) {
  std::vector<LiveChallenge> out;
  start_many(verifier, sender, n, out);
  return out;
}

// Bytes the allocator has handed out (heap and mmapped).
inline std::size_t heap_in_use() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

inline KeyRing bench_ring() {
  return KeyRing::from_master_key(SecretBytes::random(KeyRing::kMasterKeyBytes)).value();
}

}  // namespace veribind::bench
