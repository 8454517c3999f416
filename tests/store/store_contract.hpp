// The Store conformance suite: the contract in include/veribind/store.hpp, checked the same way
// against every backend.
//
// A backend's test file instantiates it once:
//
//   #include "store/store_contract.hpp"
//   VERIBIND_STORE_CONTRACT_TESTS("memory", std::make_unique<veribind::MemoryStore>())
//
// The second argument is an expression, evaluated afresh for each test case, that yields an
// owner of a new, empty store: anything `*owner` turns into a `Store&` (a std::unique_ptr, or a
// fixture that also owns a temporary directory). Each behaviour is one TEST_CASE named
// "store contract [<tag>]: <sentence>", so a failure says which backend broke which promise.
//
// Values are built by hand with fixed bytes, so failures reproduce exactly. Every refusal is
// followed by a look at the stored state, because "a failed operation changes nothing" is part of
// the contract.
#pragma once

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
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

// --- small accessors that fail the test with the store's message on an error -------------------

inline std::optional<ChallengeRecord> find(Store& store, const ChallengeId& id) {
  auto found = store.find_challenge(id);
  INFO(found.status().message());
  REQUIRE(found.is_ok());
  return *found;
}

inline ChargeResult charge(Store& store, const ChallengeId& id, Timestamp now) {
  auto charged = store.charge_attempt(id, now);
  INFO(charged.status().message());
  REQUIRE(charged.is_ok());
  return *charged;
}

inline void create(Store& store, const ChallengeRecord& record) {
  Status created = store.create_challenge(record);
  INFO(created.message());
  REQUIRE(created.is_ok());
}

inline std::uint32_t increment(Store& store, const CounterKey& key, Timestamp window_end,
                               Timestamp now) {
  auto count = store.increment_counter(key, window_end, now);
  INFO(count.status().message());
  REQUIRE(count.is_ok());
  return *count;
}

inline BindOutcome bind(Store& store, const BindingRecord& binding, std::uint32_t max_accounts) {
  auto outcome = store.insert_binding(binding, max_accounts);
  INFO(outcome.status().message());
  REQUIRE(outcome.is_ok());
  return *outcome;
}

inline std::vector<std::string> accounts(Store& store, const BlindIndex& index) {
  auto found = store.find_accounts(index);
  INFO(found.status().message());
  REQUIRE(found.is_ok());
  return *found;
}

inline std::size_t unbind(Store& store, std::string_view account_id) {
  auto deleted = store.delete_bindings(account_id);
  INFO(deleted.status().message());
  REQUIRE(deleted.is_ok());
  return *deleted;
}

inline PurgeCounts purge(Store& store, Timestamp now, std::size_t batch) {
  auto purged = store.purge_expired(now, batch);
  INFO(purged.status().message());
  REQUIRE(purged.is_ok());
  return *purged;
}

using Strings = std::vector<std::string>;

// --- challenges ---------------------------------------------------------------------------------

inline void create_then_find_returns_the_identical_record(Store& store) {
  const ChallengeRecord record = make_challenge(1);
  create(store, record);
  REQUIRE(find(store, record.id) == record);

  ChallengeRecord email = make_challenge(2);
  email.channel = Channel::kEmail;
  email.phone_type = PhoneType::kUnknown;
  email.region = {'Z', 'Z'};
  email.purpose = Purpose::kChangeIdentifier;
  email.attempts = 3;
  email.max_attempts = 10;
  email.index.key_version = 4294967295u;
  create(store, email);
  REQUIRE(find(store, email.id) == email);
  REQUIRE(find(store, record.id) == record);
}

inline void find_of_an_unknown_id_returns_nothing(Store& store) {
  create(store, make_challenge(1));
  REQUIRE_FALSE(find(store, make_id(2)).has_value());
}

inline void a_duplicate_create_is_refused_and_the_original_is_unchanged(Store& store) {
  const ChallengeRecord original = make_challenge(1);
  create(store, original);
  REQUIRE(charge(store, original.id, kT0).outcome == ChargeOutcome::kCharged);

  ChallengeRecord impostor = make_challenge(9, kT0 + hours(5), 200);
  impostor.id = original.id;
  Status refused = store.create_challenge(impostor);
  REQUIRE(refused.code() == ErrorCode::kStoreError);

  ChallengeRecord expected = original;
  expected.attempts = 1;
  REQUIRE(find(store, original.id) == expected);
}

inline void charge_attempt_increments_and_returns_the_record_after_the_increment(Store& store) {
  const ChallengeRecord record = make_challenge(1);
  create(store, record);

  ChargeResult first = charge(store, record.id, kT0);
  REQUIRE(first.outcome == ChargeOutcome::kCharged);
  ChallengeRecord expected = record;
  expected.attempts = 1;
  REQUIRE(first.record == expected);
  REQUIRE(find(store, record.id) == expected);

  ChargeResult second = charge(store, record.id, kT0 + minutes(1));
  REQUIRE(second.outcome == ChargeOutcome::kCharged);
  expected.attempts = 2;
  REQUIRE(second.record == expected);
  REQUIRE(find(store, record.id) == expected);
}

inline void charge_attempt_on_an_unknown_id_is_not_found_and_creates_nothing(Store& store) {
  const ChallengeRecord other = make_challenge(1);
  create(store, other);
  REQUIRE(charge(store, make_id(2), kT0).outcome == ChargeOutcome::kNotFound);
  REQUIRE_FALSE(find(store, make_id(2)).has_value());
  REQUIRE(find(store, other.id) == other);
}

inline void charge_attempt_is_expired_from_expires_at_on_and_charges_nothing(Store& store) {
  const Timestamp expires_at = kT0 + minutes(10);
  const ChallengeRecord record = make_challenge(1, expires_at);
  create(store, record);

  REQUIRE(charge(store, record.id, expires_at).outcome == ChargeOutcome::kExpired);
  REQUIRE(charge(store, record.id, expires_at + hours(1)).outcome == ChargeOutcome::kExpired);
  REQUIRE(find(store, record.id) == record);

  ChargeResult last_chance = charge(store, record.id, expires_at - milliseconds(1));
  REQUIRE(last_chance.outcome == ChargeOutcome::kCharged);
  REQUIRE(last_chance.record.attempts == 1);
}

inline void charge_attempt_never_charges_past_max_attempts(Store& store) {
  const ChallengeRecord record = make_challenge(1, kT0 + minutes(10), 3);
  create(store, record);
  for (std::uint8_t n = 1; n <= 3; ++n) {
    ChargeResult charged = charge(store, record.id, kT0);
    REQUIRE(charged.outcome == ChargeOutcome::kCharged);
    REQUIRE(charged.record.attempts == n);
  }
  REQUIRE(charge(store, record.id, kT0).outcome == ChargeOutcome::kExhausted);
  REQUIRE(charge(store, record.id, kT0).outcome == ChargeOutcome::kExhausted);
  ChallengeRecord expected = record;
  expected.attempts = 3;
  REQUIRE(find(store, record.id) == expected);

  // Created already at its maximum: exhausted from the start.
  ChallengeRecord spent = make_challenge(2, kT0 + minutes(10), 2);
  spent.attempts = 2;
  create(store, spent);
  REQUIRE(charge(store, spent.id, kT0).outcome == ChargeOutcome::kExhausted);
  REQUIRE(find(store, spent.id) == spent);
}

struct RaceTally {
  int charged = 0;
  int exhausted = 0;
  int other = 0;  // any other outcome, or an error
};

// Two threads, each charging `per_thread` times, the first through `a` and the second through
// `b` (the same store, or two handles on one shared backend). Assertions happen after the join:
// Catch2's are not thread-safe.
inline RaceTally race_charges(Store& a, Store& b, const ChallengeId& id, Timestamp now,
                              int per_thread) {
  std::atomic<bool> go{false};
  std::atomic<int> charged{0}, exhausted{0}, other{0};
  auto worker = [&](Store& store) {
    while (!go.load()) std::this_thread::yield();
    for (int i = 0; i < per_thread; ++i) {
      auto result = store.charge_attempt(id, now);
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

inline void two_threads_racing_charges_get_exactly_max_attempts_charged(Store& store) {
  const ChallengeRecord record = make_challenge(1, kT0 + minutes(10), 5);
  create(store, record);
  const RaceTally tally = race_charges(store, store, record.id, kT0, 50);
  REQUIRE(tally.charged == 5);
  REQUIRE(tally.exhausted == 95);
  REQUIRE(tally.other == 0);
  REQUIRE(find(store, record.id)->attempts == 5);
}

inline void consume_challenge_returns_true_once_then_false(Store& store) {
  const ChallengeRecord record = make_challenge(1);
  const ChallengeRecord bystander = make_challenge(2);
  create(store, record);
  create(store, bystander);

  auto first = store.consume_challenge(record.id);
  REQUIRE(first.is_ok());
  REQUIRE(*first);
  auto second = store.consume_challenge(record.id);
  REQUIRE(second.is_ok());
  REQUIRE_FALSE(*second);

  REQUIRE_FALSE(find(store, record.id).has_value());
  REQUIRE(charge(store, record.id, kT0).outcome == ChargeOutcome::kNotFound);
  REQUIRE(find(store, bystander.id) == bystander);

  auto unknown = store.consume_challenge(make_id(3));
  REQUIRE(unknown.is_ok());
  REQUIRE_FALSE(*unknown);
}

inline void reissue_replaces_tag_and_expiry_and_keeps_attempts(Store& store) {
  const ChallengeRecord record = make_challenge(1, kT0 + minutes(10));
  create(store, record);
  REQUIRE(charge(store, record.id, kT0).outcome == ChargeOutcome::kCharged);
  REQUIRE(charge(store, record.id, kT0).outcome == ChargeOutcome::kCharged);

  const auto new_tag = make_tag(77);
  const Timestamp new_expiry = kT0 + minutes(20);
  auto reissued = store.reissue_challenge(record.id, new_tag, new_expiry, kT0 + minutes(5));
  INFO(reissued.status().message());
  REQUIRE(reissued.is_ok());
  REQUIRE(*reissued);

  ChallengeRecord expected = record;
  expected.code_tag = new_tag;
  expected.expires_at = new_expiry;
  expected.attempts = 2;
  REQUIRE(find(store, record.id) == expected);

  // The new expiry is the one in force: past the old one, the challenge is still chargeable.
  ChargeResult charged = charge(store, record.id, kT0 + minutes(15));
  REQUIRE(charged.outcome == ChargeOutcome::kCharged);
  REQUIRE(charged.record.attempts == 3);
  REQUIRE(charged.record.code_tag == new_tag);
}

inline void reissue_is_refused_for_a_challenge_that_is_gone_or_expired(Store& store) {
  const auto new_tag = make_tag(77);

  auto unknown = store.reissue_challenge(make_id(9), new_tag, kT0 + hours(1), kT0);
  REQUIRE(unknown.is_ok());
  REQUIRE_FALSE(*unknown);
  REQUIRE_FALSE(find(store, make_id(9)).has_value());

  const ChallengeRecord consumed = make_challenge(1);
  create(store, consumed);
  REQUIRE(store.consume_challenge(consumed.id).is_ok());
  auto after_consume = store.reissue_challenge(consumed.id, new_tag, kT0 + hours(1), kT0);
  REQUIRE(after_consume.is_ok());
  REQUIRE_FALSE(*after_consume);
  REQUIRE_FALSE(find(store, consumed.id).has_value());

  const Timestamp expires_at = kT0 + minutes(10);
  const ChallengeRecord expired = make_challenge(2, expires_at);
  create(store, expired);
  auto at_expiry = store.reissue_challenge(expired.id, new_tag, expires_at + hours(1), expires_at);
  REQUIRE(at_expiry.is_ok());
  REQUIRE_FALSE(*at_expiry);
  REQUIRE(find(store, expired.id) == expired);
  REQUIRE(charge(store, expired.id, expires_at).outcome == ChargeOutcome::kExpired);
}

// --- rate-limit counters ------------------------------------------------------------------------

inline void a_counter_increments_within_its_window(Store& store) {
  const CounterKey key = make_counter_key(1);
  const Timestamp window_end = kT0 + hours(1);
  REQUIRE(increment(store, key, window_end, kT0) == 1);
  // Later calls pass later window ends; the running window keeps its own.
  REQUIRE(increment(store, key, window_end + minutes(1), kT0 + minutes(1)) == 2);
  REQUIRE(increment(store, key, window_end + hours(1), window_end - milliseconds(1)) == 3);
}

inline void a_counter_restarts_at_one_from_its_window_end_on(Store& store) {
  const CounterKey key = make_counter_key(1);
  REQUIRE(increment(store, key, kT0 + hours(1), kT0) == 1);
  REQUIRE(increment(store, key, kT0 + hours(1), kT0 + minutes(1)) == 2);

  // now == window end: a new window, ending at the window end given now.
  REQUIRE(increment(store, key, kT0 + hours(2), kT0 + hours(1)) == 1);
  // The new window is the one passed at the restart (2h), not a later one passed now (5h) ...
  REQUIRE(increment(store, key, kT0 + hours(5), kT0 + hours(1) + minutes(30)) == 2);
  // ... so at 2h it restarts again.
  REQUIRE(increment(store, key, kT0 + hours(3), kT0 + hours(2)) == 1);
  REQUIRE(increment(store, key, kT0 + hours(3), kT0 + hours(10)) == 1);
}

inline void counters_with_different_keys_are_independent(Store& store) {
  const CounterKey a = make_counter_key(1);
  const CounterKey b = make_counter_key(2);
  const Timestamp window_end = kT0 + hours(1);
  REQUIRE(increment(store, a, window_end, kT0) == 1);
  REQUIRE(increment(store, a, window_end, kT0) == 2);
  REQUIRE(increment(store, a, window_end, kT0) == 3);
  REQUIRE(increment(store, b, window_end, kT0) == 1);
  REQUIRE(increment(store, a, window_end, kT0) == 4);
  REQUIRE(increment(store, b, window_end, kT0) == 2);
}

// --- bindings -----------------------------------------------------------------------------------

inline void a_binding_is_inserted_and_found_by_its_index(Store& store) {
  const BlindIndex index = make_index(1);
  REQUIRE(accounts(store, index).empty());
  REQUIRE(bind(store, make_binding("acct-1", index, Channel::kPhone), 1) == BindOutcome::kBound);
  REQUIRE(accounts(store, index) == Strings{"acct-1"});
  REQUIRE(accounts(store, make_index(2)).empty());
}

inline void an_identifier_with_max_accounts_1_refuses_a_second_account(Store& store) {
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

inline void an_identifier_with_max_accounts_2_refuses_a_third_account(Store& store) {
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

inline void an_account_with_a_binding_on_a_channel_cannot_bind_another_on_it(Store& store) {
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

inline void an_account_may_bind_one_phone_and_one_email(Store& store) {
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

inline void find_accounts_matches_the_exact_index_including_its_key_version(Store& store) {
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

inline void find_accounts_returns_the_oldest_binding_first(Store& store) {
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

inline void delete_bindings_removes_every_binding_of_the_account_and_counts_them(Store& store) {
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

inline void purge_expired_removes_only_expired_rows(Store& store) {
  const ChallengeRecord long_gone = make_challenge(1, kT0 - hours(1));
  const ChallengeRecord just_expired = make_challenge(2, kT0);
  const ChallengeRecord live = make_challenge(3, kT0 + milliseconds(1));
  create(store, long_gone);
  create(store, just_expired);
  create(store, live);
  REQUIRE(increment(store, make_counter_key(1), kT0, kT0 - minutes(1)) == 1);  // ends at kT0
  REQUIRE(increment(store, make_counter_key(2), kT0 + milliseconds(1), kT0 - minutes(1)) == 1);
  REQUIRE(increment(store, make_counter_key(2), kT0 + milliseconds(1), kT0 - minutes(1)) == 2);

  const PurgeCounts purged = purge(store, kT0, 10000);
  REQUIRE(purged.challenges == 2);
  REQUIRE(purged.counters == 1);

  REQUIRE_FALSE(find(store, long_gone.id).has_value());
  REQUIRE_FALSE(find(store, just_expired.id).has_value());
  REQUIRE(find(store, live.id) == live);
  // The live counter kept its count.
  REQUIRE(increment(store, make_counter_key(2), kT0 + hours(1), kT0) == 3);

  const PurgeCounts again = purge(store, kT0, 10000);
  REQUIRE(again.challenges == 0);
  REQUIRE(again.counters == 0);
}

inline void purge_expired_removes_at_most_batch_rows_of_each_kind_per_call(Store& store) {
  for (std::uint8_t n = 1; n <= 5; ++n) {
    create(store, make_challenge(n, kT0 - minutes(n)));
    REQUIRE(increment(store, make_counter_key(n), kT0 - minutes(n), kT0 - hours(1)) == 1);
  }
  const ChallengeRecord live = make_challenge(6, kT0 + hours(1));
  create(store, live);
  REQUIRE(increment(store, make_counter_key(6), kT0 + hours(1), kT0) == 1);

  const std::size_t expected[] = {2, 2, 1, 0};
  for (std::size_t want : expected) {
    const PurgeCounts purged = purge(store, kT0, 2);
    REQUIRE(purged.challenges == want);
    REQUIRE(purged.counters == want);
  }
  for (std::uint8_t n = 1; n <= 5; ++n) REQUIRE_FALSE(find(store, make_id(n)).has_value());
  REQUIRE(find(store, live.id) == live);
  REQUIRE(increment(store, make_counter_key(6), kT0 + hours(1), kT0) == 2);
}

// --- sealed contacts and key rotation (issue 5) ------------------------------------------------

inline std::vector<BindingRecord> of_account(Store& store, std::string_view account) {
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

inline void insert_binding_across_counts_the_identifier_under_every_key_version(Store& store) {
  const BlindIndex v1 = make_index(1, 1);
  const BlindIndex v2 = make_index(9, 2);  // the same identifier under version 2
  const BlindIndex aliases[] = {v1};
  REQUIRE(bind(store, make_binding("acct-1", v1, Channel::kPhone), 1) == BindOutcome::kBound);
  auto refused =
      store.insert_binding_across(make_binding("acct-2", v2, Channel::kPhone), aliases, 1);
  REQUIRE(refused.is_ok());
  REQUIRE(*refused == BindOutcome::kIdentifierFull);
  REQUIRE(accounts(store, v2).empty());
  REQUIRE(of_account(store, "acct-2").empty());

  // With room for two, the same call binds; the account rule still applies.
  auto bound = store.insert_binding_across(make_binding("acct-2", v2, Channel::kPhone), aliases, 2);
  REQUIRE(bound.is_ok());
  REQUIRE(*bound == BindOutcome::kBound);
  auto again =
      store.insert_binding_across(make_binding("acct-2", make_index(3, 2), Channel::kPhone), {}, 5);
  REQUIRE(again.is_ok());
  REQUIRE(*again == BindOutcome::kAccountHasBinding);
  REQUIRE(accounts(store, v2) == Strings{"acct-2"});
  REQUIRE(accounts(store, v1) == Strings{"acct-1"});
}

inline void bindings_of_account_returns_every_field_including_the_sealed_contact(Store& store) {
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

inline void bindings_with_key_version_lists_one_version_in_batches_after_a_cursor(Store& store) {
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

inline void reindex_binding_moves_a_binding_only_from_the_index_it_has(Store& store) {
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

inline void key_version_usage_counts_bindings_and_live_challenges_of_a_version(Store& store) {
  REQUIRE(bind(store, make_binding("acct-1", make_index(1, 1), Channel::kPhone), 1) ==
          BindOutcome::kBound);
  REQUIRE(bind(store, make_binding("acct-2", make_index(2, 1), Channel::kPhone), 1) ==
          BindOutcome::kBound);
  REQUIRE(bind(store, make_binding("acct-3", make_index(3, 2), Channel::kPhone), 1) ==
          BindOutcome::kBound);
  ChallengeRecord live = make_challenge(1, kT0 + minutes(10));
  live.index.key_version = 1;
  ChallengeRecord expired = make_challenge(2, kT0 - minutes(1));
  expired.index.key_version = 1;
  ChallengeRecord other = make_challenge(3, kT0 + minutes(10));
  other.index.key_version = 2;
  for (const ChallengeRecord& r : {live, expired, other}) create(store, r);

  auto v1 = store.key_version_usage(1, kT0);
  REQUIRE(v1.is_ok());
  CHECK(v1->bindings == 2);
  CHECK(v1->challenges == 1);  // the expired one no longer uses the key
  auto v2 = store.key_version_usage(2, kT0);
  REQUIRE(v2.is_ok());
  CHECK(v2->bindings == 1);
  CHECK(v2->challenges == 1);
  auto v3 = store.key_version_usage(3, kT0);
  REQUIRE(v3.is_ok());
  CHECK(v3->bindings == 0);
  CHECK(v3->challenges == 0);
}

}  // namespace veribind::testing::contract

// One TEST_CASE per promise. MAKE_STORE is evaluated inside each test case.
#define VERIBIND_STORE_CONTRACT_CASE(TAG, MAKE_STORE, NAME, CHECK_FN)          \
  TEST_CASE("store contract [" TAG "]: " NAME, "[store][contract][" TAG "]") { \
    auto store_owner = MAKE_STORE;                                             \
    ::veribind::Store& store_under_test = *store_owner;                        \
    ::veribind::testing::contract::CHECK_FN(store_under_test);                 \
  }

#define VERIBIND_STORE_CONTRACT_TESTS(TAG, MAKE_STORE)                                             \
  VERIBIND_STORE_CONTRACT_CASE(TAG, MAKE_STORE, "create then find returns the identical record",   \
                               create_then_find_returns_the_identical_record)                      \
  VERIBIND_STORE_CONTRACT_CASE(TAG, MAKE_STORE, "find of an unknown id returns nothing",           \
                               find_of_an_unknown_id_returns_nothing)                              \
  VERIBIND_STORE_CONTRACT_CASE(TAG, MAKE_STORE,                                                    \
                               "a duplicate create is refused and the original is unchanged",      \
                               a_duplicate_create_is_refused_and_the_original_is_unchanged)        \
  VERIBIND_STORE_CONTRACT_CASE(                                                                    \
      TAG, MAKE_STORE, "charge_attempt increments and returns the record after the increment",     \
      charge_attempt_increments_and_returns_the_record_after_the_increment)                        \
  VERIBIND_STORE_CONTRACT_CASE(TAG, MAKE_STORE,                                                    \
                               "charge_attempt on an unknown id is not found and creates nothing", \
                               charge_attempt_on_an_unknown_id_is_not_found_and_creates_nothing)   \
  VERIBIND_STORE_CONTRACT_CASE(TAG, MAKE_STORE,                                                    \
                               "charge_attempt is expired from expires_at on and charges nothing", \
                               charge_attempt_is_expired_from_expires_at_on_and_charges_nothing)   \
  VERIBIND_STORE_CONTRACT_CASE(TAG, MAKE_STORE, "charge_attempt never charges past max_attempts",  \
                               charge_attempt_never_charges_past_max_attempts)                     \
  VERIBIND_STORE_CONTRACT_CASE(TAG, MAKE_STORE,                                                    \
                               "two threads racing charges get exactly max_attempts charged",      \
                               two_threads_racing_charges_get_exactly_max_attempts_charged)        \
  VERIBIND_STORE_CONTRACT_CASE(TAG, MAKE_STORE, "consume_challenge returns true once then false",  \
                               consume_challenge_returns_true_once_then_false)                     \
  VERIBIND_STORE_CONTRACT_CASE(TAG, MAKE_STORE,                                                    \
                               "reissue replaces tag and expiry and keeps attempts",               \
                               reissue_replaces_tag_and_expiry_and_keeps_attempts)                 \
  VERIBIND_STORE_CONTRACT_CASE(TAG, MAKE_STORE,                                                    \
                               "reissue is refused for a challenge that is gone or expired",       \
                               reissue_is_refused_for_a_challenge_that_is_gone_or_expired)         \
  VERIBIND_STORE_CONTRACT_CASE(TAG, MAKE_STORE, "a counter increments within its window",          \
                               a_counter_increments_within_its_window)                             \
  VERIBIND_STORE_CONTRACT_CASE(TAG, MAKE_STORE,                                                    \
                               "a counter restarts at one from its window end on",                 \
                               a_counter_restarts_at_one_from_its_window_end_on)                   \
  VERIBIND_STORE_CONTRACT_CASE(TAG, MAKE_STORE, "counters with different keys are independent",    \
                               counters_with_different_keys_are_independent)                       \
  VERIBIND_STORE_CONTRACT_CASE(TAG, MAKE_STORE, "a binding is inserted and found by its index",    \
                               a_binding_is_inserted_and_found_by_its_index)                       \
  VERIBIND_STORE_CONTRACT_CASE(TAG, MAKE_STORE,                                                    \
                               "an identifier with max_accounts 1 refuses a second account",       \
                               an_identifier_with_max_accounts_1_refuses_a_second_account)         \
  VERIBIND_STORE_CONTRACT_CASE(TAG, MAKE_STORE,                                                    \
                               "an identifier with max_accounts 2 refuses a third account",        \
                               an_identifier_with_max_accounts_2_refuses_a_third_account)          \
  VERIBIND_STORE_CONTRACT_CASE(TAG, MAKE_STORE,                                                    \
                               "an account with a binding on a channel cannot bind another on it", \
                               an_account_with_a_binding_on_a_channel_cannot_bind_another_on_it)   \
  VERIBIND_STORE_CONTRACT_CASE(TAG, MAKE_STORE, "an account may bind one phone and one email",     \
                               an_account_may_bind_one_phone_and_one_email)                        \
  VERIBIND_STORE_CONTRACT_CASE(TAG, MAKE_STORE,                                                    \
                               "find_accounts matches the exact index including its key version",  \
                               find_accounts_matches_the_exact_index_including_its_key_version)    \
  VERIBIND_STORE_CONTRACT_CASE(TAG, MAKE_STORE, "find_accounts returns the oldest binding first",  \
                               find_accounts_returns_the_oldest_binding_first)                     \
  VERIBIND_STORE_CONTRACT_CASE(                                                                    \
      TAG, MAKE_STORE, "delete_bindings removes every binding of the account and counts them",     \
      delete_bindings_removes_every_binding_of_the_account_and_counts_them)                        \
  VERIBIND_STORE_CONTRACT_CASE(TAG, MAKE_STORE, "purge_expired removes only expired rows",         \
                               purge_expired_removes_only_expired_rows)                            \
  VERIBIND_STORE_CONTRACT_CASE(TAG, MAKE_STORE,                                                    \
                               "purge_expired removes at most batch rows of each kind per call",   \
                               purge_expired_removes_at_most_batch_rows_of_each_kind_per_call)     \
  VERIBIND_STORE_CONTRACT_CASE(                                                                    \
      TAG, MAKE_STORE, "insert_binding_across counts the identifier under every key version",      \
      insert_binding_across_counts_the_identifier_under_every_key_version)                         \
  VERIBIND_STORE_CONTRACT_CASE(                                                                    \
      TAG, MAKE_STORE, "bindings_of_account returns every field including the sealed contact",     \
      bindings_of_account_returns_every_field_including_the_sealed_contact)                        \
  VERIBIND_STORE_CONTRACT_CASE(                                                                    \
      TAG, MAKE_STORE, "bindings_with_key_version lists one version in batches after a cursor",    \
      bindings_with_key_version_lists_one_version_in_batches_after_a_cursor)                       \
  VERIBIND_STORE_CONTRACT_CASE(TAG, MAKE_STORE,                                                    \
                               "reindex_binding moves a binding only from the index it has",       \
                               reindex_binding_moves_a_binding_only_from_the_index_it_has)         \
  VERIBIND_STORE_CONTRACT_CASE(                                                                    \
      TAG, MAKE_STORE, "key_version_usage counts bindings and live challenges of a version",       \
      key_version_usage_counts_bindings_and_live_challenges_of_a_version)
