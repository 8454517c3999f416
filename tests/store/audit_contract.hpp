// The AuditStore conformance suite: the contract in include/veribind/audit_store.hpp,
// checked the same way against every backend that implements it. A backend's test file:
//
//   VERIBIND_AUDIT_CONTRACT_TESTS("memory", std::make_unique<veribind::MemoryStore>())
//
// The second argument is evaluated afresh for each test case and yields an owner of a new, empty
// store (a std::unique_ptr, or a fixture that also owns a temporary directory). Every refusal is
// followed by a look at the stored state: "a failed operation changes nothing" is part of the
// contract.
#pragma once

#include "store/contract_support.hpp"

namespace veribind::testing::contract {
inline void an_empty_audit_log_has_no_entries_and_no_head(auto& store) {
  REQUIRE(scan(store, 1, 100).empty());
  REQUIRE(scan(store, 0, 100).empty());
  REQUIRE_FALSE(head(store).has_value());
}
inline void audit_entries_are_scanned_back_identical_in_sequence_order(auto& store) {
  std::vector<AuditRecord> appended;
  for (std::uint64_t n = 1; n <= 5; ++n) {
    appended.push_back(make_audit_entry(n));
    REQUIRE(append(store, appended.back()) == AuditAppendOutcome::kAppended);
    REQUIRE(head(store) == make_audit_head(appended.back()));
  }
  REQUIRE(scan(store, 1, 100) == appended);
  REQUIRE(scan(store, 0, 100) == appended);
  REQUIRE(scan(store, 2, 2) == std::vector<AuditRecord>{appended[1], appended[2]});
  REQUIRE(scan(store, 5, 100) == std::vector<AuditRecord>{appended[4]});
  REQUIRE(scan(store, 6, 100).empty());
  REQUIRE(scan(store, 1, 0).empty());
}
inline void an_audit_append_that_does_not_follow_the_head_is_a_conflict_and_changes_nothing(
    auto& store) {
  // On an empty log only sequence 1 may be appended.
  REQUIRE(append(store, make_audit_entry(2)) == AuditAppendOutcome::kConflict);
  REQUIRE_FALSE(head(store).has_value());
  REQUIRE(scan(store, 1, 100).empty());

  const AuditRecord first = make_audit_entry(1);
  REQUIRE(append(store, first) == AuditAppendOutcome::kAppended);
  // A second writer that read the head before `first` went in: same sequence, refused.
  AuditRecord stale = make_audit_entry(1);
  stale.authority = "another authority";
  REQUIRE(append(store, stale) == AuditAppendOutcome::kConflict);
  REQUIRE(append(store, make_audit_entry(3)) == AuditAppendOutcome::kConflict);
  REQUIRE(scan(store, 1, 100) == std::vector<AuditRecord>{first});
  REQUIRE(head(store) == make_audit_head(first));
}
inline void two_threads_appending_audit_entries_get_consecutive_sequences(auto& store) {
  // Each writer does what Registry::disclose does: read the head, append after it, and on a
  // conflict read it again. Errors are tallied, not asserted, inside the threads (Catch2's
  // assertions are not thread-safe).
  constexpr int kPerThread = 25;
  std::atomic<int> errors{0};
  auto writer = [&store, &errors](const std::string& who) {
    for (int i = 0; i < kPerThread; ++i) {
      while (true) {
        auto h = store.audit_head();
        if (!h) {
          ++errors;
          return;
        }
        AuditRecord e = make_audit_entry(*h ? (*h)->count + 1 : 1);
        e.requested_by = who;
        auto outcome = store.append_audit(e, make_audit_head(e));
        if (!outcome) {
          ++errors;
          return;
        }
        if (*outcome == AuditAppendOutcome::kAppended) break;
      }
    }
  };
  std::thread a(writer, "a");
  std::thread b(writer, "b");
  a.join();
  b.join();
  REQUIRE(errors == 0);
  const std::vector<AuditRecord> all = scan(store, 1, 1000);
  REQUIRE(all.size() == 2 * kPerThread);
  int by_a = 0;
  for (std::size_t i = 0; i < all.size(); ++i) {
    REQUIRE(all[i].sequence == i + 1);
    if (all[i].requested_by == "a") ++by_a;
  }
  REQUIRE(by_a == kPerThread);
  REQUIRE(head(store) == make_audit_head(all.back()));
}

inline void a_store_has_one_audit_binding_that_appends_do_not_change(auto& store) {
  auto first = store.audit_binding();
  REQUIRE(first.is_ok());
  CHECK(first->bound_from == 1);  // a new store binds from its first entry
  CHECK(first->unbound_last_mac == AuditBinding{}.unbound_last_mac);
  CHECK(first->store_id != AuditBinding{}.store_id);
  REQUIRE(append(store, make_audit_entry(1)) == AuditAppendOutcome::kAppended);
  auto again = store.audit_binding();
  REQUIRE(again.is_ok());
  CHECK(*again == *first);
}

}  // namespace veribind::testing::contract

#define VERIBIND_AUDIT_CONTRACT_TESTS(TAG, MAKE_STORE)                                    \
  VERIBIND_CONTRACT_CASE("audit store", ::veribind::AuditStore, TAG, MAKE_STORE,          \
                         "an empty audit log has no entries and no head",                 \
                         an_empty_audit_log_has_no_entries_and_no_head)                   \
  VERIBIND_CONTRACT_CASE("audit store", ::veribind::AuditStore, TAG, MAKE_STORE,          \
                         "audit entries are scanned back identical in sequence order",    \
                         audit_entries_are_scanned_back_identical_in_sequence_order)      \
  VERIBIND_CONTRACT_CASE(                                                                 \
      "audit store", ::veribind::AuditStore, TAG, MAKE_STORE,                             \
      "an audit append that does not follow the head is a conflict and changes nothing",  \
      an_audit_append_that_does_not_follow_the_head_is_a_conflict_and_changes_nothing)    \
  VERIBIND_CONTRACT_CASE("audit store", ::veribind::AuditStore, TAG, MAKE_STORE,          \
                         "two threads appending audit entries get consecutive sequences", \
                         two_threads_appending_audit_entries_get_consecutive_sequences)   \
  VERIBIND_CONTRACT_CASE("audit store", ::veribind::AuditStore, TAG, MAKE_STORE,          \
                         "a store has one audit binding that appends do not change",      \
                         a_store_has_one_audit_binding_that_appends_do_not_change)
