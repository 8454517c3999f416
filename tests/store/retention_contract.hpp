// The RetentionReport conformance suite, for a backend that implements every store interface (the
// report covers every kind of row): include/veribind/retention.hpp, checked the same way against
// every backend that implements it. A backend's test file:
//
//   VERIBIND_RETENTION_CONTRACT_TESTS("memory", std::make_unique<veribind::MemoryStore>())
//
// The second argument is evaluated afresh for each test case and yields an owner of a new, empty
// store (a std::unique_ptr, or a fixture that also owns a temporary directory). Every refusal is
// followed by a look at the stored state: "a failed operation changes nothing" is part of the
// contract.
#pragma once

#include "store/contract_support.hpp"

namespace veribind::testing::contract {
inline void purge_expired_never_removes_audit_entries(auto& store) {
  const AuditRecord e = make_audit_entry(1);
  REQUIRE(append(store, e) == AuditAppendOutcome::kAppended);
  purge(store, kT0 + hours(24 * 365 * 100), 10000);
  REQUIRE(scan(store, 1, 10) == std::vector<AuditRecord>{e});
  REQUIRE(head(store) == make_audit_head(e));
}
inline void purge_expired_never_removes_bindings_and_batch_0_removes_nothing(auto& store) {
  create(store, make_challenge(1, kT0 - hours(1)));
  REQUIRE(increment(store, make_counter_key(1), kT0 - minutes(1), kT0 - hours(1)) == 1);
  REQUIRE(bind(store,
               make_binding("acct-old", make_index(1), Channel::kPhone, kT0 - hours(24 * 400)),
               1) == BindOutcome::kBound);

  const PurgeCounts none = purge(store, kT0, 0);
  REQUIRE(none.challenges == 0);
  REQUIRE(none.counters == 0);
  REQUIRE(find(store, make_id(1)).has_value());

  const PurgeCounts purged = purge(store, kT0 + hours(24 * 365 * 10), 10000);
  REQUIRE(purged.challenges == 1);
  REQUIRE(purged.counters == 1);
  // A binding has an owner, not an expiry: however old, only its account's erasure removes it.
  REQUIRE(accounts(store, make_index(1)) == Strings{"acct-old"});
}
inline void retention_stats_lists_every_kind_with_a_description_even_when_empty(auto& store) {
  const std::vector<RowKindStats> stats = retention(store, kT0);
  std::vector<std::string> kinds;
  for (const RowKindStats& s : stats) {
    kinds.push_back(s.kind);
    const RowKindDescription* description = describe_row_kind(s.kind);
    REQUIRE(description != nullptr);
    REQUIRE_FALSE(description->reveals.empty());
    REQUIRE_FALSE(description->retention.empty());
    REQUIRE(s.rows == 0);
    REQUIRE(s.expired == 0);
    REQUIRE_FALSE(s.oldest_created.has_value());
    REQUIRE_FALSE(s.earliest_expiry.has_value());
  }
  REQUIRE(kinds == std::vector<std::string>{"challenges", "counters", "failure_counts", "bindings",
                                            "audit_log"});
}
inline void retention_stats_counts_rows_expired_rows_and_the_oldest_of_each_kind(auto& store) {
  create(store, make_challenge(1, kT0 - minutes(5)));
  create(store, make_challenge(2, kT0));
  create(store, make_challenge(3, kT0 + minutes(10)));
  REQUIRE(increment(store, make_counter_key(1), kT0 - minutes(1), kT0 - hours(1)) == 1);
  REQUIRE(increment(store, make_counter_key(2), kT0 + hours(1), kT0) == 1);
  // One failure count, ended, one live: challenge 3's two checks (its identifier) and challenge
  // 4's, under another identifier.
  ChallengeRecord fourth = make_challenge(4, kT0 + minutes(10));
  create(store, fourth);
  REQUIRE(store.charge_attempt(make_id(3), kT0 - hours(2), kT0 - minutes(2))->failures.count == 1);
  REQUIRE(store.charge_attempt(fourth.id, kT0 - hours(2), kT0 + hours(20))->failures.count == 1);
  REQUIRE(bind(store, make_binding("acct-b", make_index(2), Channel::kPhone, kT0 - hours(2)), 1) ==
          BindOutcome::kBound);
  REQUIRE(bind(store, make_binding("acct-a", make_index(1), Channel::kEmail, kT0 - hours(3)), 1) ==
          BindOutcome::kBound);
  REQUIRE(append(store, make_audit_entry(1)) == AuditAppendOutcome::kAppended);
  REQUIRE(append(store, make_audit_entry(2)) == AuditAppendOutcome::kAppended);

  const std::vector<RowKindStats> stats = retention(store, kT0);
  const RowKindStats& challenges = kind_of(stats, "challenges");
  REQUIRE(challenges.rows == 4);
  REQUIRE(challenges.expired == 2);  // expiry <= now, as purge_expired counts it
  REQUIRE(challenges.earliest_expiry == kT0 - minutes(5));
  REQUIRE_FALSE(challenges.oldest_created.has_value());
  const RowKindStats& counters = kind_of(stats, "counters");
  REQUIRE(counters.rows == 2);
  REQUIRE(counters.expired == 1);
  REQUIRE(counters.earliest_expiry == kT0 - minutes(1));
  const RowKindStats& failures = kind_of(stats, "failure_counts");
  REQUIRE(failures.rows == 2);
  REQUIRE(failures.expired == 1);
  REQUIRE(failures.earliest_expiry == kT0 - minutes(2));
  const RowKindStats& bindings = kind_of(stats, "bindings");
  REQUIRE(bindings.rows == 2);
  REQUIRE(bindings.expired == 0);
  REQUIRE(bindings.oldest_created == kT0 - hours(3));
  REQUIRE_FALSE(bindings.earliest_expiry.has_value());
  const RowKindStats& audit = kind_of(stats, "audit_log");
  REQUIRE(audit.rows == 2);
  REQUIRE(audit.expired == 0);  // kept: purge never removes audit entries
  REQUIRE(audit.oldest_created == make_audit_entry(1).time);
  REQUIRE_FALSE(audit.earliest_expiry.has_value());
  for (const RowKindStats& s : stats) REQUIRE(s.bytes > 0);

  // The figures agree with what purge_expired then removes, and change with it.
  const PurgeCounts purged = purge(store, kT0, 10000);
  REQUIRE(purged.challenges == challenges.expired);
  REQUIRE(purged.counters == counters.expired + failures.expired);
  const std::vector<RowKindStats> after = retention(store, kT0);
  REQUIRE(kind_of(after, "challenges").rows == 2);
  REQUIRE(kind_of(after, "challenges").expired == 0);
  REQUIRE(kind_of(after, "challenges").earliest_expiry == kT0 + minutes(10));
  REQUIRE(kind_of(after, "counters").rows == 1);
  REQUIRE(kind_of(after, "failure_counts").rows == 1);
  REQUIRE(kind_of(after, "bindings").rows == 2);
  REQUIRE(kind_of(after, "audit_log").rows == 2);
}
inline void retention_stats_bytes_grow_with_the_rows_and_reading_them_changes_nothing(auto& store) {
  REQUIRE(bind(store, make_binding("acct-0", make_index(0), Channel::kPhone), 1) ==
          BindOutcome::kBound);
  const std::vector<RowKindStats> one = retention(store, kT0);
  for (int n = 1; n < 300; ++n) {
    BlindIndex index = make_index(static_cast<std::uint8_t>(n));
    index.value[1] = static_cast<std::uint8_t>(n >> 8);
    REQUIRE(bind(store, make_binding("account-number-" + std::to_string(n), index, Channel::kPhone),
                 1) == BindOutcome::kBound);
  }
  const std::vector<RowKindStats> many = retention(store, kT0);
  REQUIRE(kind_of(many, "bindings").rows == 300);
  // 300 rows of at least 32 bytes of blind index each, beyond what one row took.
  REQUIRE(kind_of(many, "bindings").bytes >= kind_of(one, "bindings").bytes + 299 * 32);
  REQUIRE(kind_of(many, "bindings").bytes_method == kind_of(one, "bindings").bytes_method);

  const std::vector<RowKindStats> again = retention(store, kT0);
  for (std::size_t i = 0; i < again.size(); ++i) {
    REQUIRE(again[i].rows == many[i].rows);
    REQUIRE(again[i].bytes == many[i].bytes);
  }
  REQUIRE(accounts(store, make_index(0)) == Strings{"acct-0"});
}

}  // namespace veribind::testing::contract

#define VERIBIND_RETENTION_CONTRACT_TESTS(TAG, MAKE_STORE)                                        \
  VERIBIND_CONTRACT_CASE("retention report", auto, TAG, MAKE_STORE,                               \
                         "purge_expired never removes audit entries",                             \
                         purge_expired_never_removes_audit_entries)                               \
  VERIBIND_CONTRACT_CASE("retention report", auto, TAG, MAKE_STORE,                               \
                         "purge_expired never removes bindings and batch 0 removes nothing",      \
                         purge_expired_never_removes_bindings_and_batch_0_removes_nothing)        \
  VERIBIND_CONTRACT_CASE("retention report", auto, TAG, MAKE_STORE,                               \
                         "retention_stats lists every kind with a description even when empty",   \
                         retention_stats_lists_every_kind_with_a_description_even_when_empty)     \
  VERIBIND_CONTRACT_CASE("retention report", auto, TAG, MAKE_STORE,                               \
                         "retention_stats counts rows, expired rows and the oldest of each kind", \
                         retention_stats_counts_rows_expired_rows_and_the_oldest_of_each_kind)    \
  VERIBIND_CONTRACT_CASE(                                                                         \
      "retention report", auto, TAG, MAKE_STORE,                                                  \
      "retention_stats bytes grow with the rows and reading them changes nothing",                \
      retention_stats_bytes_grow_with_the_rows_and_reading_them_changes_nothing)
