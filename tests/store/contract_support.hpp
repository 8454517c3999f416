// What the store conformance suites share: fixed values built by hand (so failures reproduce
// exactly) and small accessors that fail the test with the store's message on an error. The
// suites themselves, one per store interface, are verification_contract.hpp, account_contract.hpp,
// audit_contract.hpp and retention_contract.hpp; each accessor takes whatever store the suite
// hands it, so a suite compiles only against the interface it checks.
#pragma once

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "veribind/store.hpp"

namespace veribind::testing::contract {
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

// 2026-01-01T00:00:00Z, the FakeClock default.
inline const Timestamp kT0{milliseconds(1767225600000)};

inline ChallengeId make_id(std::uint8_t n) {
  ChallengeId id;
  for (std::size_t i = 0; i < id.bytes.size(); ++i) id.bytes[i] = static_cast<std::uint8_t>(i);
  id.bytes[0] = n;
  id.bytes[15] = static_cast<std::uint8_t>(n ^ 0xA5);  // varies the last byte too (shard choice)
  return id;
}

inline BlindIndex make_index(std::uint8_t n, std::uint32_t key_version = 1) {
  BlindIndex index;
  for (std::size_t i = 0; i < index.value.size(); ++i) {
    index.value[i] = static_cast<std::uint8_t>(0x40 + i);
  }
  index.value[0] = n;
  index.key_version = key_version;
  return index;
}

inline std::array<std::uint8_t, ChallengeRecord::kTagBytes> make_tag(std::uint8_t n) {
  std::array<std::uint8_t, ChallengeRecord::kTagBytes> tag{};
  for (std::size_t i = 0; i < tag.size(); ++i) tag[i] = static_cast<std::uint8_t>(n ^ (0x90 + i));
  return tag;
}

// A challenge with every field set to something other than its default, so a backend that drops
// or mangles a field fails the round trip.
inline ChallengeRecord make_challenge(std::uint8_t n, Timestamp expires_at = kT0 + minutes(10),
                                      std::uint8_t max_attempts = 5) {
  ChallengeRecord record;
  record.id = make_id(n);
  record.code_tag = make_tag(n);
  record.index = make_index(n, 7);
  record.expires_at = expires_at;
  record.purpose = Purpose::kRecovery;
  record.channel = Channel::kPhone;
  record.phone_type = PhoneType::kFixedLineOrMobile;
  record.region = {'P', 'K'};
  record.attempts = 0;
  record.max_attempts = max_attempts;
  record.calling_code = 92;
  return record;
}

inline CounterKey make_counter_key(std::uint8_t n) {
  CounterKey key{};
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(0xC0 ^ i);
  key[0] = n;
  return key;
}

inline BindingRecord make_binding(std::string account_id, BlindIndex index, Channel channel,
                                  Timestamp created_at = kT0) {
  BindingRecord binding;
  binding.account_id = std::move(account_id);
  binding.index = index;
  binding.channel = channel;
  binding.created_at = created_at;
  return binding;
}

inline std::optional<ChallengeRecord> find(auto& store, const ChallengeId& id) {
  auto found = store.find_challenge(id);
  INFO(found.status().message());
  REQUIRE(found.is_ok());
  return *found;
}

inline ChargeResult charge(auto& store, const ChallengeId& id, Timestamp now) {
  auto charged = store.charge_attempt(id, now, now + hours(24));
  INFO(charged.status().message());
  REQUIRE(charged.is_ok());
  return *charged;
}

inline void create(auto& store, const ChallengeRecord& record) {
  Status created = store.create_challenge(record, {}, kT0);
  INFO(created.message());
  REQUIRE(created.is_ok());
}

inline CounterState add(auto& store, const CounterKey& key, std::uint32_t delta,
                        Timestamp window_end, Timestamp now) {
  CounterUpdate update{key, delta, window_end, CounterState{}};
  Status added = store.add_to_counters(std::span(&update, 1), now);
  INFO(added.message());
  REQUIRE(added.is_ok());
  return update.after;
}

inline std::uint32_t increment(auto& store, const CounterKey& key, Timestamp window_end,
                               Timestamp now) {
  return add(store, key, 1, window_end, now).count;
}

inline BindOutcome bind(auto& store, const BindingRecord& binding, std::uint32_t max_accounts) {
  auto outcome = store.insert_binding(binding, {}, max_accounts);
  INFO(outcome.status().message());
  REQUIRE(outcome.is_ok());
  return *outcome;
}

inline std::vector<std::string> accounts(auto& store, const BlindIndex& index) {
  auto found = store.find_accounts(index);
  INFO(found.status().message());
  REQUIRE(found.is_ok());
  return *found;
}

inline std::size_t unbind(auto& store, std::string_view account_id) {
  auto deleted = store.delete_bindings(account_id);
  INFO(deleted.status().message());
  REQUIRE(deleted.is_ok());
  return *deleted;
}

inline PurgeCounts purge(auto& store, Timestamp now, std::size_t batch) {
  auto purged = store.purge_expired(now, batch);
  INFO(purged.status().message());
  REQUIRE(purged.is_ok());
  return *purged;
}

using Strings = std::vector<std::string>;

struct RaceTally {
  int charged = 0;
  int exhausted = 0;
  int other = 0;  // any other outcome, or an error
};

// Two threads, each charging `per_thread` times, the first through `a` and the second through
// `b` (the same store, or two handles on one shared backend). Assertions happen after the join:
// Catch2's are not thread-safe.
inline RaceTally race_charges(VerificationStore& a, VerificationStore& b, const ChallengeId& id,
                              Timestamp now, int per_thread) {
  std::atomic<bool> go{false};
  std::atomic<int> charged{0}, exhausted{0}, other{0};
  auto worker = [&](VerificationStore& store) {
    while (!go.load()) std::this_thread::yield();
    for (int i = 0; i < per_thread; ++i) {
      auto result = store.charge_attempt(id, now, now + hours(24));
      if (!result.is_ok()) {
        ++other;
      } else if (result->outcome == ChargeOutcome::kCharged) {
        ++charged;
      } else if (result->outcome == ChargeOutcome::kExhausted) {
        ++exhausted;
      } else {
        ++other;
      }
    }
  };
  std::thread first(worker, std::ref(a));
  std::thread second(worker, std::ref(b));
  go.store(true);
  first.join();
  second.join();
  return {charged.load(), exhausted.load(), other.load()};
}

inline AuditRecord make_audit_entry(std::uint64_t sequence) {
  AuditRecord e;
  e.sequence = sequence;
  e.time = kT0 + minutes(static_cast<int>(sequence));
  e.authority = "Bundesamt f\u00fcr Justiz " + std::to_string(sequence);  // non-ASCII survives
  e.reference = "ref-" + std::to_string(sequence);
  e.legal_basis = "order " + std::to_string(sequence);
  e.requested_by = "operator-" + std::to_string(sequence);
  e.index = make_index(static_cast<std::uint8_t>(sequence), 3);
  e.channel = Channel::kEmail;
  e.accounts_returned = static_cast<std::uint32_t>(sequence + 1);
  e.mac_key_version = 5;
  for (std::size_t i = 0; i < e.mac.size(); ++i) {
    e.prev_mac[i] = static_cast<std::uint8_t>(sequence - 1 + i);
    e.mac[i] = static_cast<std::uint8_t>(sequence + i);
  }
  return e;
}

inline AuditHead make_audit_head(const AuditRecord& last) {
  AuditHead h;
  h.count = last.sequence;
  h.last_mac = last.mac;
  h.mac_key_version = last.mac_key_version;
  for (std::size_t i = 0; i < h.mac.size(); ++i) {
    h.mac[i] = static_cast<std::uint8_t>(0xE0 ^ (last.sequence + i));
  }
  return h;
}

inline AuditAppendOutcome append(auto& store, const AuditRecord& e) {
  auto outcome = store.append_audit(e, make_audit_head(e));
  INFO(outcome.status().message());
  REQUIRE(outcome.is_ok());
  return *outcome;
}

inline std::vector<AuditRecord> scan(auto& store, std::uint64_t from, std::size_t limit) {
  auto entries = store.scan_audit(from, limit);
  INFO(entries.status().message());
  REQUIRE(entries.is_ok());
  return *entries;
}

inline std::optional<AuditHead> head(auto& store) {
  auto h = store.audit_head();
  INFO(h.status().message());
  REQUIRE(h.is_ok());
  return *h;
}

inline std::vector<RowKindStats> retention(auto& store, Timestamp now) {
  auto stats = store.retention_stats(now);
  INFO(stats.status().message());
  REQUIRE(stats.is_ok());
  return *stats;
}

inline const RowKindStats& kind_of(const std::vector<RowKindStats>& stats, std::string_view kind) {
  for (const RowKindStats& s : stats) {
    if (s.kind == kind) return s;
  }
  FAIL("no retention entry for " << kind);
  return stats.front();  // not reached
}

inline std::vector<BindingRecord> of_account(auto& store, std::string_view account) {
  auto found = store.bindings_of_account(account);
  INFO(found.status().message());
  REQUIRE(found.is_ok());
  return *found;
}

inline std::vector<std::string> ids_of(const std::vector<BindingRecord>& bindings) {
  std::vector<std::string> ids;
  for (const BindingRecord& b : bindings) ids.push_back(b.account_id);
  return ids;
}

}  // namespace veribind::testing::contract

// One TEST_CASE per promise. MAKE_STORE is evaluated inside each test case, and what it yields is
// seen through INTERFACE only.
#define VERIBIND_CONTRACT_CASE(SUITE, INTERFACE, TAG, MAKE_STORE, NAME, CHECK_FN) \
  TEST_CASE(SUITE " contract [" TAG "]: " NAME, "[store][contract][" TAG "]") {   \
    auto store_owner = MAKE_STORE;                                                \
    INTERFACE& store_under_test = *store_owner;                                   \
    ::veribind::testing::contract::CHECK_FN(store_under_test);                    \
  }
