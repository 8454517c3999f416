// The AccountStore conformance suite: the contract in include/veribind/account_store.hpp,
// checked the same way against every backend that implements it. A backend's test file:
//
//   VERIBIND_ACCOUNT_CONTRACT_TESTS("memory", std::make_unique<veribind::MemoryStore>())
//
// The second argument is evaluated afresh for each test case and yields an owner of a new, empty
// store (a std::unique_ptr, or a fixture that also owns a temporary directory). Every refusal is
// followed by a look at the stored state: "a failed operation changes nothing" is part of the
// contract.
#pragma once

#include "store/contract_support.hpp"

namespace veribind::testing::contract {
inline void a_binding_is_inserted_and_found_by_its_index(auto& store) {
  const BlindIndex index = make_index(1);
  REQUIRE(accounts(store, index).empty());
  REQUIRE(bind(store, make_binding("acct-1", index, Channel::kPhone), 1) == BindOutcome::kBound);
  REQUIRE(accounts(store, index) == Strings{"acct-1"});
  REQUIRE(accounts(store, make_index(2)).empty());
}
inline void an_identifier_with_max_accounts_1_refuses_a_second_account(auto& store) {
  const BlindIndex index = make_index(1);
  REQUIRE(bind(store, make_binding("acct-1", index, Channel::kPhone), 1) == BindOutcome::kBound);
  REQUIRE(bind(store, make_binding("acct-2", index, Channel::kPhone, kT0 + seconds(1)), 1) ==
          BindOutcome::kIdentifierFull);
  REQUIRE(accounts(store, index) == Strings{"acct-1"});
  // The refused insert left nothing behind: acct-2 has no binding to delete, and is free to bind
  // another phone.
  REQUIRE(unbind(store, "acct-2") == 0);
  REQUIRE(bind(store, make_binding("acct-2", make_index(2), Channel::kPhone), 1) ==
          BindOutcome::kBound);
  REQUIRE(accounts(store, index) == Strings{"acct-1"});
}
inline void an_identifier_with_max_accounts_2_refuses_a_third_account(auto& store) {
  const BlindIndex index = make_index(1);
  REQUIRE(bind(store, make_binding("acct-1", index, Channel::kEmail, kT0), 2) ==
          BindOutcome::kBound);
  REQUIRE(bind(store, make_binding("acct-2", index, Channel::kEmail, kT0 + seconds(1)), 2) ==
          BindOutcome::kBound);
  REQUIRE(bind(store, make_binding("acct-3", index, Channel::kEmail, kT0 + seconds(2)), 2) ==
          BindOutcome::kIdentifierFull);
  REQUIRE(accounts(store, index) == Strings{"acct-1", "acct-2"});
  REQUIRE(unbind(store, "acct-3") == 0);
}
inline void an_account_with_a_binding_on_a_channel_cannot_bind_another_on_it(auto& store) {
  const BlindIndex first = make_index(1);
  const BlindIndex second = make_index(2);
  REQUIRE(bind(store, make_binding("acct-1", first, Channel::kPhone), 5) == BindOutcome::kBound);
  REQUIRE(bind(store, make_binding("acct-1", second, Channel::kPhone, kT0 + seconds(1)), 5) ==
          BindOutcome::kAccountHasBinding);
  // The same identifier again is refused the same way.
  REQUIRE(bind(store, make_binding("acct-1", first, Channel::kPhone, kT0 + seconds(2)), 5) ==
          BindOutcome::kAccountHasBinding);
  REQUIRE(accounts(store, first) == Strings{"acct-1"});
  REQUIRE(accounts(store, second).empty());
  REQUIRE(unbind(store, "acct-1") == 1);
}
inline void an_account_may_bind_one_phone_and_one_email(auto& store) {
  const BlindIndex phone = make_index(1);
  const BlindIndex email = make_index(2);
  REQUIRE(bind(store, make_binding("acct-1", phone, Channel::kPhone), 1) == BindOutcome::kBound);
  REQUIRE(bind(store, make_binding("acct-1", email, Channel::kEmail), 1) == BindOutcome::kBound);
  REQUIRE(bind(store, make_binding("acct-1", make_index(3), Channel::kEmail), 1) ==
          BindOutcome::kAccountHasBinding);
  REQUIRE(accounts(store, phone) == Strings{"acct-1"});
  REQUIRE(accounts(store, email) == Strings{"acct-1"});
  REQUIRE(accounts(store, make_index(3)).empty());
}
inline void find_accounts_matches_the_exact_index_including_its_key_version(auto& store) {
  const BlindIndex v1 = make_index(1, 1);
  REQUIRE(bind(store, make_binding("acct-1", v1, Channel::kPhone), 1) == BindOutcome::kBound);
  REQUIRE(accounts(store, v1) == Strings{"acct-1"});

  REQUIRE(accounts(store, make_index(1, 2)).empty());
  BlindIndex one_bit_off = v1;
  one_bit_off.value[31] ^= 0x01;
  REQUIRE(accounts(store, one_bit_off).empty());

  // The same bytes under another key version are another identifier, with its own capacity.
  REQUIRE(bind(store, make_binding("acct-2", make_index(1, 2), Channel::kPhone), 1) ==
          BindOutcome::kBound);
  REQUIRE(accounts(store, make_index(1, 2)) == Strings{"acct-2"});
  REQUIRE(accounts(store, v1) == Strings{"acct-1"});
}
inline void find_accounts_returns_the_oldest_binding_first(auto& store) {
  const BlindIndex index = make_index(1);
  // Inserted in neither age order nor name order, so only ordering by age passes.
  REQUIRE(bind(store, make_binding("acct-m", index, Channel::kPhone, kT0 + seconds(2)), 10) ==
          BindOutcome::kBound);
  REQUIRE(bind(store, make_binding("acct-a", index, Channel::kPhone, kT0 + seconds(3)), 10) ==
          BindOutcome::kBound);
  REQUIRE(bind(store, make_binding("acct-z", index, Channel::kPhone, kT0 + seconds(1)), 10) ==
          BindOutcome::kBound);
  REQUIRE(accounts(store, index) == Strings{"acct-z", "acct-m", "acct-a"});
}
inline void delete_bindings_removes_every_binding_of_the_account_and_counts_them(auto& store) {
  const BlindIndex phone = make_index(1);
  const BlindIndex email = make_index(2);
  REQUIRE(bind(store, make_binding("acct-1", phone, Channel::kPhone, kT0), 2) ==
          BindOutcome::kBound);
  REQUIRE(bind(store, make_binding("acct-1", email, Channel::kEmail, kT0), 2) ==
          BindOutcome::kBound);
  REQUIRE(bind(store, make_binding("acct-2", phone, Channel::kPhone, kT0 + seconds(1)), 2) ==
          BindOutcome::kBound);

  REQUIRE(unbind(store, "acct-1") == 2);
  REQUIRE(accounts(store, phone) == Strings{"acct-2"});
  REQUIRE(accounts(store, email).empty());
  REQUIRE(unbind(store, "acct-1") == 0);
  REQUIRE(unbind(store, "nobody") == 0);
  REQUIRE(accounts(store, phone) == Strings{"acct-2"});

  // The freed places can be taken again, by the same account or another.
  REQUIRE(bind(store, make_binding("acct-3", phone, Channel::kPhone, kT0 + seconds(2)), 2) ==
          BindOutcome::kBound);
  REQUIRE(bind(store, make_binding("acct-1", email, Channel::kEmail, kT0 + seconds(3)), 2) ==
          BindOutcome::kBound);
  REQUIRE(accounts(store, phone) == Strings{"acct-2", "acct-3"});
  REQUIRE(accounts(store, email) == Strings{"acct-1"});
}

// --- retention ----------------------------------------------------------------------------------
inline void insert_binding_across_counts_the_identifier_under_every_key_version(auto& store) {
  const BlindIndex v1 = make_index(1, 1);
  const BlindIndex v2 = make_index(9, 2);  // the same identifier under version 2
  const BlindIndex aliases[] = {v1};
  REQUIRE(bind(store, make_binding("acct-1", v1, Channel::kPhone), 1) == BindOutcome::kBound);
  auto refused = store.insert_binding(make_binding("acct-2", v2, Channel::kPhone), aliases, 1);
  REQUIRE(refused.is_ok());
  REQUIRE(*refused == BindOutcome::kIdentifierFull);
  REQUIRE(accounts(store, v2).empty());
  REQUIRE(of_account(store, "acct-2").empty());

  // With room for two, the same call binds; the account rule still applies.
  auto bound = store.insert_binding(make_binding("acct-2", v2, Channel::kPhone), aliases, 2);
  REQUIRE(bound.is_ok());
  REQUIRE(*bound == BindOutcome::kBound);
  auto again =
      store.insert_binding(make_binding("acct-2", make_index(3, 2), Channel::kPhone), {}, 5);
  REQUIRE(again.is_ok());
  REQUIRE(*again == BindOutcome::kAccountHasBinding);
  REQUIRE(accounts(store, v2) == Strings{"acct-2"});
  REQUIRE(accounts(store, v1) == Strings{"acct-1"});
}
inline void bindings_of_account_returns_every_field_including_the_sealed_contact(auto& store) {
  BindingRecord phone = make_binding("acct-1", make_index(1, 3), Channel::kPhone, kT0);
  phone.sealed_contact = {0x01, 0xAA, 0x00, 0xFF, 0x10};
  const BindingRecord email =
      make_binding("acct-1", make_index(2, 4), Channel::kEmail, kT0 + seconds(1));
  const BindingRecord other = make_binding("acct-2", make_index(3), Channel::kPhone);
  REQUIRE(bind(store, email, 1) == BindOutcome::kBound);
  REQUIRE(bind(store, phone, 1) == BindOutcome::kBound);
  REQUIRE(bind(store, other, 1) == BindOutcome::kBound);

  const std::vector<BindingRecord> found = of_account(store, "acct-1");
  REQUIRE(found.size() == 2);
  for (const auto& [got, want] : {std::pair{&found[0], static_cast<const BindingRecord*>(&phone)},
                                  std::pair{&found[1], &email}}) {
    CHECK(got->account_id == want->account_id);
    CHECK(got->index == want->index);
    CHECK(got->channel == want->channel);
    CHECK(got->created_at == want->created_at);
    CHECK(got->sealed_contact == want->sealed_contact);
  }
  REQUIRE(of_account(store, "nobody").empty());
}
inline void bindings_with_key_version_lists_one_version_in_batches_after_a_cursor(auto& store) {
  for (const char* id : {"acct-c", "acct-a", "acct-d", "acct-b"}) {
    REQUIRE(bind(store,
                 make_binding(id, make_index(static_cast<std::uint8_t>(id[5]), 1), Channel::kPhone),
                 1) == BindOutcome::kBound);
  }
  REQUIRE(bind(store, make_binding("acct-a", make_index(7, 1), Channel::kEmail), 1) ==
          BindOutcome::kBound);
  REQUIRE(bind(store, make_binding("acct-e", make_index(8, 2), Channel::kPhone), 1) ==
          BindOutcome::kBound);

  auto first = store.bindings_with_key_version(1, {}, 2);
  REQUIRE(first.is_ok());
  REQUIRE(ids_of(*first) == Strings{"acct-a", "acct-a"});
  CHECK((*first)[0].channel == Channel::kPhone);
  CHECK((*first)[1].channel == Channel::kEmail);
  auto second = store.bindings_with_key_version(1, {"acct-a", Channel::kEmail}, 2);
  REQUIRE(second.is_ok());
  REQUIRE(ids_of(*second) == Strings{"acct-b", "acct-c"});
  auto last = store.bindings_with_key_version(1, {"acct-c", Channel::kPhone}, 2);
  REQUIRE(last.is_ok());
  REQUIRE(ids_of(*last) == Strings{"acct-d"});
  auto v2 = store.bindings_with_key_version(2, {}, 10);
  REQUIRE(v2.is_ok());
  REQUIRE(ids_of(*v2) == Strings{"acct-e"});
  auto none = store.bindings_with_key_version(3, {}, 10);
  REQUIRE(none.is_ok());
  REQUIRE(none->empty());
}
inline void reindex_binding_moves_a_binding_only_from_the_index_it_has(auto& store) {
  const BlindIndex v1 = make_index(1, 1);
  const BlindIndex v2 = make_index(2, 2);
  BindingRecord binding = make_binding("acct-1", v1, Channel::kPhone);
  binding.sealed_contact = {0x01, 0x02};
  REQUIRE(bind(store, binding, 1) == BindOutcome::kBound);

  const std::vector<std::uint8_t> resealed = {0x01, 0x03, 0x04};
  // A stale "from" (or a wrong account or channel) changes nothing.
  auto stale = store.reindex_binding("acct-1", Channel::kPhone, make_index(5, 1), v2, resealed);
  REQUIRE(stale.is_ok());
  REQUIRE_FALSE(*stale);
  auto wrong_channel = store.reindex_binding("acct-1", Channel::kEmail, v1, v2, resealed);
  REQUIRE(wrong_channel.is_ok());
  REQUIRE_FALSE(*wrong_channel);
  REQUIRE(accounts(store, v1) == Strings{"acct-1"});

  auto moved = store.reindex_binding("acct-1", Channel::kPhone, v1, v2, resealed);
  REQUIRE(moved.is_ok());
  REQUIRE(*moved);
  REQUIRE(accounts(store, v1).empty());
  REQUIRE(accounts(store, v2) == Strings{"acct-1"});
  const std::vector<BindingRecord> after = of_account(store, "acct-1");
  REQUIRE(after.size() == 1);
  CHECK(after[0].index == v2);
  CHECK(after[0].sealed_contact == resealed);
  CHECK(after[0].created_at == binding.created_at);

  // Moving again from the old index is refused; an empty contact clears it.
  auto twice = store.reindex_binding("acct-1", Channel::kPhone, v1, v2, resealed);
  REQUIRE(twice.is_ok());
  REQUIRE_FALSE(*twice);
  auto cleared = store.reindex_binding("acct-1", Channel::kPhone, v2, make_index(3, 3), {});
  REQUIRE(cleared.is_ok());
  REQUIRE(*cleared);
  CHECK(of_account(store, "acct-1")[0].sealed_contact.empty());
  // The account keeps exactly one binding on the channel, found under its new index only.
  REQUIRE(unbind(store, "acct-1") == 1);
  REQUIRE(accounts(store, make_index(3, 3)).empty());
}

inline void count_bindings_counts_the_bindings_of_a_key_version(auto& store) {
  REQUIRE(bind(store, make_binding("acct-1", make_index(1, 1), Channel::kPhone), 1) ==
          BindOutcome::kBound);
  REQUIRE(bind(store, make_binding("acct-2", make_index(2, 1), Channel::kPhone), 1) ==
          BindOutcome::kBound);
  REQUIRE(bind(store, make_binding("acct-3", make_index(3, 2), Channel::kPhone), 1) ==
          BindOutcome::kBound);
  REQUIRE(*store.count_bindings(1) == 2);
  REQUIRE(*store.count_bindings(2) == 1);
  REQUIRE(*store.count_bindings(3) == 0);
}

}  // namespace veribind::testing::contract

#define VERIBIND_ACCOUNT_CONTRACT_TESTS(TAG, MAKE_STORE)                                          \
  VERIBIND_CONTRACT_CASE("account store", ::veribind::AccountStore, TAG, MAKE_STORE,              \
                         "a binding is inserted and found by its index",                          \
                         a_binding_is_inserted_and_found_by_its_index)                            \
  VERIBIND_CONTRACT_CASE("account store", ::veribind::AccountStore, TAG, MAKE_STORE,              \
                         "an identifier with max_accounts 1 refuses a second account",            \
                         an_identifier_with_max_accounts_1_refuses_a_second_account)              \
  VERIBIND_CONTRACT_CASE("account store", ::veribind::AccountStore, TAG, MAKE_STORE,              \
                         "an identifier with max_accounts 2 refuses a third account",             \
                         an_identifier_with_max_accounts_2_refuses_a_third_account)               \
  VERIBIND_CONTRACT_CASE("account store", ::veribind::AccountStore, TAG, MAKE_STORE,              \
                         "an account with a binding on a channel cannot bind another on it",      \
                         an_account_with_a_binding_on_a_channel_cannot_bind_another_on_it)        \
  VERIBIND_CONTRACT_CASE("account store", ::veribind::AccountStore, TAG, MAKE_STORE,              \
                         "an account may bind one phone and one email",                           \
                         an_account_may_bind_one_phone_and_one_email)                             \
  VERIBIND_CONTRACT_CASE("account store", ::veribind::AccountStore, TAG, MAKE_STORE,              \
                         "find_accounts matches the exact index including its key version",       \
                         find_accounts_matches_the_exact_index_including_its_key_version)         \
  VERIBIND_CONTRACT_CASE("account store", ::veribind::AccountStore, TAG, MAKE_STORE,              \
                         "find_accounts returns the oldest binding first",                        \
                         find_accounts_returns_the_oldest_binding_first)                          \
  VERIBIND_CONTRACT_CASE("account store", ::veribind::AccountStore, TAG, MAKE_STORE,              \
                         "delete_bindings removes every binding of the account and counts them",  \
                         delete_bindings_removes_every_binding_of_the_account_and_counts_them)    \
  VERIBIND_CONTRACT_CASE("account store", ::veribind::AccountStore, TAG, MAKE_STORE,              \
                         "insert_binding_across counts the identifier under every key version",   \
                         insert_binding_across_counts_the_identifier_under_every_key_version)     \
  VERIBIND_CONTRACT_CASE("account store", ::veribind::AccountStore, TAG, MAKE_STORE,              \
                         "bindings_of_account returns every field including the sealed contact",  \
                         bindings_of_account_returns_every_field_including_the_sealed_contact)    \
  VERIBIND_CONTRACT_CASE("account store", ::veribind::AccountStore, TAG, MAKE_STORE,              \
                         "bindings_with_key_version lists one version in batches after a cursor", \
                         bindings_with_key_version_lists_one_version_in_batches_after_a_cursor)   \
  VERIBIND_CONTRACT_CASE("account store", ::veribind::AccountStore, TAG, MAKE_STORE,              \
                         "reindex_binding moves a binding only from the index it has",            \
                         reindex_binding_moves_a_binding_only_from_the_index_it_has)              \
  VERIBIND_CONTRACT_CASE("account store", ::veribind::AccountStore, TAG, MAKE_STORE,              \
                         "count_bindings counts the bindings of a key version",                   \
                         count_bindings_counts_the_bindings_of_a_key_version)
