// Shared by the benchmarks: a sender that keeps codes (or discards them), a pool of live
// challenges with their codes, and a heap-usage probe. Public API only.
#pragma once

#include <malloc.h>

#include <string>
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
inline VerifierConfig bench_config(int max_checks = 5) {
  VerifierConfig c;
  c.max_sends_per_hour = 1000;
  c.max_checks = max_checks;
  return c;
}

struct LiveChallenge {
  std::string id;
  std::string code;
};

// Starts `n` challenges through `verifier`, spreading them over n/1000 + 1 email identifiers.
inline std::vector<LiveChallenge> start_many(Verifier& verifier, LastCodeSender& sender,
                                             std::size_t n) {
  std::vector<EmailAddress> emails;
  for (std::size_t i = 0; i < n / 1000 + 1; ++i) {
    emails.push_back(EmailAddress::parse("user" + std::to_string(i) + "@example.com").value());
  }
  std::vector<LiveChallenge> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    auto c = verifier.start(emails[i / 1000], Purpose::kSignup);
    if (!c) std::abort();
    out.push_back({c->id, sender.last_code});
  }
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
