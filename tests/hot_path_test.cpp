// The hot path on MemoryStore allocates nothing: a check is one shard lock, one probe, one
// failure-count probe, one keyed hash and one compare. This binary counts every allocation
// (operator new is replaced here, for this test program only).
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "fakes/fake_clock.hpp"
#include "fakes/keys.hpp"
#include "fakes/recording_sender.hpp"
#include "veribind/memory_store.hpp"
#include "veribind/verifier.hpp"

namespace {
std::atomic<long> allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  ++allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

using namespace veribind;

TEST_CASE("hot path: check() on MemoryStore allocates nothing, wrong code or right",
          "[verifier][hot-path]") {
  KeyRing ring = veribind::testing::random_ring();
  MemoryStore store;
  veribind::testing::RecordingSender sender;
  veribind::testing::FakeClock clock;
  VerifierConfig config;
  config.resend_cooldown = std::chrono::seconds(0);
  config.max_sends_per_hour = 1000;
  Verifier verifier = Verifier::create(config, ring, store, sender, clock).value();
  const EmailAddress email = EmailAddress::parse("pat@example.com").value();

  std::vector<std::string> ids;
  std::vector<std::string> codes;
  for (int i = 0; i < 50; ++i) {
    Challenge c = verifier.start(email, Purpose::kSignup).value();
    ids.push_back(c.id);
    codes.push_back(sender.last_code());
  }
  std::string wrong = codes[0];
  wrong[0] = wrong[0] == '9' ? '0' : static_cast<char>(wrong[0] + 1);
  // Warm: the identifier's failure count exists from here on.
  REQUIRE(verifier.check(ids[0], wrong, Purpose::kSignup)->outcome == CheckOutcome::kWrongCode);

  const long before = allocations.load();
  int wrong_codes = 0;
  for (int i = 1; i < 25; ++i) {
    auto r = verifier.check(ids[static_cast<std::size_t>(i)], wrong == codes[i] ? codes[0] : wrong,
                            Purpose::kSignup);
    wrong_codes += r.is_ok() && r->outcome == CheckOutcome::kWrongCode ? 1 : 0;
  }
  const long after_wrong = allocations.load();
  int verified = 0;
  for (int i = 25; i < 50; ++i) {
    auto r = verifier.check(ids[static_cast<std::size_t>(i)], codes[static_cast<std::size_t>(i)],
                            Purpose::kSignup);
    verified += r.is_ok() && r->outcome == CheckOutcome::kVerified ? 1 : 0;
  }
  const long after_right = allocations.load();
  CHECK(wrong_codes == 24);
  CHECK(verified == 25);
  CHECK(after_wrong - before == 0);
  CHECK(after_right - after_wrong == 0);
}
