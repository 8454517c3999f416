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

inline CounterState add(Store& store, const CounterKey& key, std::uint32_t delta,
                        Timestamp window_end, Timestamp now) {
  auto state = store.add_to_counter(key, delta, window_end, now);
  INFO(state.status().message());
  REQUIRE(state.is_ok());
  return *state;
}

inline std::uint32_t increment(Store& store, const CounterKey& key, Timestamp window_end,
                               Timestamp now) {
  return add(store, key, 1, window_end, now).count;
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

inline void add_to_counter_adds_delta_and_returns_the_window_end(Store& store) {
  const CounterKey key = make_counter_key(1);
  REQUIRE(add(store, key, 3, kT0 + hours(1), kT0) == CounterState{3, kT0 + hours(1)});
  REQUIRE(add(store, key, 2, kT0 + hours(9), kT0 + minutes(1)) == CounterState{5, kT0 + hours(1)});
  // A new window starts at delta, not at 1.
  REQUIRE(add(store, key, 4, kT0 + hours(3), kT0 + hours(2)) == CounterState{4, kT0 + hours(3)});
}

inline void a_zero_delta_reads_without_writing(Store& store) {
  const CounterKey key = make_counter_key(1);
  // An absent counter reads as {0, {}} and is not created ...
  REQUIRE(add(store, key, 0, kT0 + hours(1), kT0) == CounterState{});
  REQUIRE(add(store, key, 1, kT0 + hours(1), kT0) == CounterState{1, kT0 + hours(1)});
  // ... so the window of the first real increment is the one passed then, not at the read.
  REQUIRE(add(store, key, 0, kT0 + hours(7), kT0 + minutes(1)) == CounterState{1, kT0 + hours(1)});
  REQUIRE(add(store, key, 0, kT0 + hours(7), kT0 + minutes(2)) == CounterState{1, kT0 + hours(1)});
  // An ended window reads as absent, and the read does not restart it.
  REQUIRE(add(store, key, 0, kT0 + hours(7), kT0 + hours(1)) == CounterState{});
  REQUIRE(add(store, key, 1, kT0 + hours(3), kT0 + hours(2)) == CounterState{1, kT0 + hours(3)});
  // A read leaves nothing behind for purge either.
  REQUIRE(add(store, make_counter_key(2), 0, kT0 + hours(1), kT0) == CounterState{});
  auto purged = store.purge_expired(kT0 + hours(100), 10000);
  REQUIRE(purged.is_ok());
  REQUIRE(purged->counters == 1);
}

inline void a_counter_saturates_instead_of_wrapping(Store& store) {
  const CounterKey key = make_counter_key(1);
  constexpr std::uint32_t kMax = std::numeric_limits<std::uint32_t>::max();
  REQUIRE(add(store, key, kMax - 1, kT0 + hours(1), kT0).count == kMax - 1);
  REQUIRE(add(store, key, 5, kT0 + hours(1), kT0).count == kMax);
  REQUIRE(add(store, key, 1, kT0 + hours(1), kT0).count == kMax);
}

inline void reset_counter_removes_it_and_ignores_absent_ones(Store& store) {
  const CounterKey a = make_counter_key(1);
  const CounterKey b = make_counter_key(2);
  REQUIRE(increment(store, a, kT0 + hours(1), kT0) == 1);
  REQUIRE(increment(store, a, kT0 + hours(1), kT0) == 2);
  REQUIRE(increment(store, b, kT0 + hours(1), kT0) == 1);
  REQUIRE(store.reset_counter(a).is_ok());
  REQUIRE(add(store, a, 0, kT0 + hours(1), kT0) == CounterState{});
  REQUIRE(add(store, b, 0, kT0 + hours(1), kT0) == CounterState{1, kT0 + hours(1)});
  REQUIRE(store.reset_counter(a).is_ok());  // already gone: still ok
  REQUIRE(store.reset_counter(make_counter_key(9)).is_ok());
  // After a reset the next increment starts a new window.
  REQUIRE(add(store, a, 1, kT0 + hours(2), kT0 + minutes(5)) == CounterState{1, kT0 + hours(2)});
}

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

// --- audit log ---------------------------------------------------------------------------------
// The store keeps audit entries as given; MACs are the account layer's business, so the contract
// uses fixed bytes for them.

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

inline AuditAppendOutcome append(Store& store, const AuditRecord& e) {
  auto outcome = store.append_audit(e, make_audit_head(e));
  INFO(outcome.status().message());
  REQUIRE(outcome.is_ok());
  return *outcome;
}

inline std::vector<AuditRecord> scan(Store& store, std::uint64_t from, std::size_t limit) {
  auto entries = store.scan_audit(from, limit);
  INFO(entries.status().message());
  REQUIRE(entries.is_ok());
  return *entries;
}

inline std::optional<AuditHead> head(Store& store) {
  auto h = store.audit_head();
  INFO(h.status().message());
  REQUIRE(h.is_ok());
  return *h;
}

inline void an_empty_audit_log_has_no_entries_and_no_head(Store& store) {
  REQUIRE(scan(store, 1, 100).empty());
  REQUIRE(scan(store, 0, 100).empty());
  REQUIRE_FALSE(head(store).has_value());
}

inline void audit_entries_are_scanned_back_identical_in_sequence_order(Store& store) {
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
    Store& store) {
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

inline void two_threads_appending_audit_entries_get_consecutive_sequences(Store& store) {
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

inline void purge_expired_never_removes_audit_entries(Store& store) {
  const AuditRecord e = make_audit_entry(1);
  REQUIRE(append(store, e) == AuditAppendOutcome::kAppended);
  purge(store, kT0 + hours(24 * 365 * 100), 10000);
  REQUIRE(scan(store, 1, 10) == std::vector<AuditRecord>{e});
  REQUIRE(head(store) == make_audit_head(e));
}

inline std::vector<RowKindStats> retention(Store& store, Timestamp now) {
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

inline void purge_expired_never_removes_bindings_and_batch_0_removes_nothing(Store& store) {
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

inline void retention_stats_lists_every_kind_with_a_description_even_when_empty(Store& store) {
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
  REQUIRE(kinds == std::vector<std::string>{"challenges", "counters", "bindings", "audit_log"});
}

inline void retention_stats_counts_rows_expired_rows_and_the_oldest_of_each_kind(Store& store) {
  create(store, make_challenge(1, kT0 - minutes(5)));
  create(store, make_challenge(2, kT0));
  create(store, make_challenge(3, kT0 + minutes(10)));
  REQUIRE(increment(store, make_counter_key(1), kT0 - minutes(1), kT0 - hours(1)) == 1);
  REQUIRE(increment(store, make_counter_key(2), kT0 + hours(1), kT0) == 1);
  REQUIRE(bind(store, make_binding("acct-b", make_index(2), Channel::kPhone, kT0 - hours(2)), 1) ==
          BindOutcome::kBound);
  REQUIRE(bind(store, make_binding("acct-a", make_index(1), Channel::kEmail, kT0 - hours(3)), 1) ==
          BindOutcome::kBound);
  REQUIRE(append(store, make_audit_entry(1)) == AuditAppendOutcome::kAppended);
  REQUIRE(append(store, make_audit_entry(2)) == AuditAppendOutcome::kAppended);

  const std::vector<RowKindStats> stats = retention(store, kT0);
  const RowKindStats& challenges = kind_of(stats, "challenges");
  REQUIRE(challenges.rows == 3);
  REQUIRE(challenges.expired == 2);  // expiry <= now, as purge_expired counts it
  REQUIRE(challenges.earliest_expiry == kT0 - minutes(5));
  REQUIRE_FALSE(challenges.oldest_created.has_value());
  const RowKindStats& counters = kind_of(stats, "counters");
  REQUIRE(counters.rows == 2);
  REQUIRE(counters.expired == 1);
  REQUIRE(counters.earliest_expiry == kT0 - minutes(1));
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
  REQUIRE(purged.counters == counters.expired);
  const std::vector<RowKindStats> after = retention(store, kT0);
  REQUIRE(kind_of(after, "challenges").rows == 1);
  REQUIRE(kind_of(after, "challenges").expired == 0);
  REQUIRE(kind_of(after, "challenges").earliest_expiry == kT0 + minutes(10));
  REQUIRE(kind_of(after, "counters").rows == 1);
  REQUIRE(kind_of(after, "bindings").rows == 2);
  REQUIRE(kind_of(after, "audit_log").rows == 2);
}

inline void retention_stats_bytes_grow_with_the_rows_and_reading_them_changes_nothing(
    Store& store) {
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
  VERIBIND_STORE_CONTRACT_CASE(TAG, MAKE_STORE,                                                    \
                               "add_to_counter adds delta and returns the window end",             \
                               add_to_counter_adds_delta_and_returns_the_window_end)               \
  VERIBIND_STORE_CONTRACT_CASE(TAG, MAKE_STORE, "a zero delta reads without writing",              \
                               a_zero_delta_reads_without_writing)                                 \
  VERIBIND_STORE_CONTRACT_CASE(TAG, MAKE_STORE, "a counter saturates instead of wrapping",         \
                               a_counter_saturates_instead_of_wrapping)                            \
  VERIBIND_STORE_CONTRACT_CASE(TAG, MAKE_STORE,                                                    \
                               "reset_counter removes it and ignores absent ones",                 \
                               reset_counter_removes_it_and_ignores_absent_ones)                   \
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
  VERIBIND_STORE_CONTRACT_CASE(TAG, MAKE_STORE, "an empty audit log has no entries and no head",   \
                               an_empty_audit_log_has_no_entries_and_no_head)                      \
  VERIBIND_STORE_CONTRACT_CASE(TAG, MAKE_STORE,                                                    \
                               "audit entries are scanned back identical in sequence order",       \
                               audit_entries_are_scanned_back_identical_in_sequence_order)         \
  VERIBIND_STORE_CONTRACT_CASE(                                                                    \
      TAG, MAKE_STORE,                                                                             \
      "an audit append that does not follow the head is a conflict and changes nothing",           \
      an_audit_append_that_does_not_follow_the_head_is_a_conflict_and_changes_nothing)             \
  VERIBIND_STORE_CONTRACT_CASE(TAG, MAKE_STORE,                                                    \
                               "two threads appending audit entries get consecutive sequences",    \
                               two_threads_appending_audit_entries_get_consecutive_sequences)      \
  VERIBIND_STORE_CONTRACT_CASE(TAG, MAKE_STORE, "purge_expired never removes audit entries",       \
                               purge_expired_never_removes_audit_entries)                          \
  VERIBIND_STORE_CONTRACT_CASE(TAG, MAKE_STORE,                                                    \
                               "purge_expired never removes bindings and batch 0 removes nothing", \
                               purge_expired_never_removes_bindings_and_batch_0_removes_nothing)   \
  VERIBIND_STORE_CONTRACT_CASE(                                                                    \
      TAG, MAKE_STORE, "retention_stats lists every kind with a description even when empty",      \
      retention_stats_lists_every_kind_with_a_description_even_when_empty)                         \
  VERIBIND_STORE_CONTRACT_CASE(                                                                    \
      TAG, MAKE_STORE, "retention_stats counts rows, expired rows and the oldest of each kind",    \
      retention_stats_counts_rows_expired_rows_and_the_oldest_of_each_kind)                        \
  VERIBIND_STORE_CONTRACT_CASE(                                                                    \
      TAG, MAKE_STORE,                                                                             \
      "retention_stats bytes grow with the rows and reading them changes nothing",                 \
      retention_stats_bytes_grow_with_the_rows_and_reading_them_changes_nothing)                   \
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
