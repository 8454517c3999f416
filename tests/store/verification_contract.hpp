// The VerificationStore conformance suite: the contract in include/veribind/verification_store.hpp,
// checked the same way against every backend that implements it. A backend's test file:
//
//   VERIBIND_VERIFICATION_CONTRACT_TESTS("memory", std::make_unique<veribind::MemoryStore>())
//
// The second argument is evaluated afresh for each test case and yields an owner of a new, empty
// store (a std::unique_ptr, or a fixture that also owns a temporary directory). Every refusal is
// followed by a look at the stored state: "a failed operation changes nothing" is part of the
// contract.
#pragma once

#include "store/contract_support.hpp"

namespace veribind::testing::contract {
inline void create_then_find_returns_the_identical_record(auto& store) {
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
inline void find_of_an_unknown_id_returns_nothing(auto& store) {
  create(store, make_challenge(1));
  REQUIRE_FALSE(find(store, make_id(2)).has_value());
}
inline void a_duplicate_create_is_refused_and_the_original_is_unchanged(auto& store) {
  const ChallengeRecord original = make_challenge(1);
  create(store, original);
  REQUIRE(charge(store, original.id, kT0).outcome == ChargeOutcome::kCharged);

  ChallengeRecord impostor = make_challenge(9, kT0 + hours(5), 200);
  impostor.id = original.id;
  Status refused = store.create_challenge(impostor, {}, kT0);
  REQUIRE(refused.code() == ErrorCode::kStoreError);

  ChallengeRecord expected = original;
  expected.attempts = 1;
  REQUIRE(find(store, original.id) == expected);
}
inline void charge_attempt_increments_and_returns_the_record_after_the_increment(auto& store) {
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
inline void charge_attempt_on_an_unknown_id_is_not_found_and_creates_nothing(auto& store) {
  const ChallengeRecord other = make_challenge(1);
  create(store, other);
  REQUIRE(charge(store, make_id(2), kT0).outcome == ChargeOutcome::kNotFound);
  REQUIRE_FALSE(find(store, make_id(2)).has_value());
  REQUIRE(find(store, other.id) == other);
}
inline void charge_attempt_is_expired_from_expires_at_on_and_charges_nothing(auto& store) {
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
inline void charge_attempt_never_charges_past_max_attempts(auto& store) {
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
inline void two_threads_racing_charges_get_exactly_max_attempts_charged(auto& store) {
  const ChallengeRecord record = make_challenge(1, kT0 + minutes(10), 5);
  create(store, record);
  const RaceTally tally = race_charges(store, store, record.id, kT0, 50);
  REQUIRE(tally.charged == 5);
  REQUIRE(tally.exhausted == 95);
  REQUIRE(tally.other == 0);
  REQUIRE(find(store, record.id)->attempts == 5);
}
inline void consume_challenge_returns_true_once_then_false(auto& store) {
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
inline void reissue_replaces_tag_and_expiry_and_keeps_attempts(auto& store) {
  const ChallengeRecord record = make_challenge(1, kT0 + minutes(10));
  create(store, record);
  REQUIRE(charge(store, record.id, kT0).outcome == ChargeOutcome::kCharged);
  REQUIRE(charge(store, record.id, kT0).outcome == ChargeOutcome::kCharged);

  const auto new_tag = make_tag(77);
  const Timestamp new_expiry = kT0 + minutes(20);
  auto reissued = store.reissue_challenge(record.id, new_tag, new_expiry, {}, kT0 + minutes(5));
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
inline void reissue_is_refused_for_a_challenge_that_is_gone_or_expired(auto& store) {
  const auto new_tag = make_tag(77);

  auto unknown = store.reissue_challenge(make_id(9), new_tag, kT0 + hours(1), {}, kT0);
  REQUIRE(unknown.is_ok());
  REQUIRE_FALSE(*unknown);
  REQUIRE_FALSE(find(store, make_id(9)).has_value());

  const ChallengeRecord consumed = make_challenge(1);
  create(store, consumed);
  REQUIRE(store.consume_challenge(consumed.id).is_ok());
  auto after_consume = store.reissue_challenge(consumed.id, new_tag, kT0 + hours(1), {}, kT0);
  REQUIRE(after_consume.is_ok());
  REQUIRE_FALSE(*after_consume);
  REQUIRE_FALSE(find(store, consumed.id).has_value());

  const Timestamp expires_at = kT0 + minutes(10);
  const ChallengeRecord expired = make_challenge(2, expires_at);
  create(store, expired);
  auto at_expiry =
      store.reissue_challenge(expired.id, new_tag, expires_at + hours(1), {}, expires_at);
  REQUIRE(at_expiry.is_ok());
  REQUIRE_FALSE(*at_expiry);
  REQUIRE(find(store, expired.id) == expired);
  REQUIRE(charge(store, expired.id, expires_at).outcome == ChargeOutcome::kExpired);
}

// --- rate-limit counters ------------------------------------------------------------------------
inline void a_counter_increments_within_its_window(auto& store) {
  const CounterKey key = make_counter_key(1);
  const Timestamp window_end = kT0 + hours(1);
  REQUIRE(increment(store, key, window_end, kT0) == 1);
  // Later calls pass later window ends; the running window keeps its own.
  REQUIRE(increment(store, key, window_end + minutes(1), kT0 + minutes(1)) == 2);
  REQUIRE(increment(store, key, window_end + hours(1), window_end - milliseconds(1)) == 3);
}
inline void a_counter_restarts_at_one_from_its_window_end_on(auto& store) {
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
inline void add_to_counter_adds_delta_and_returns_the_window_end(auto& store) {
  const CounterKey key = make_counter_key(1);
  REQUIRE(add(store, key, 3, kT0 + hours(1), kT0) == CounterState{3, kT0 + hours(1)});
  REQUIRE(add(store, key, 2, kT0 + hours(9), kT0 + minutes(1)) == CounterState{5, kT0 + hours(1)});
  // A new window starts at delta, not at 1.
  REQUIRE(add(store, key, 4, kT0 + hours(3), kT0 + hours(2)) == CounterState{4, kT0 + hours(3)});
}
inline void a_zero_delta_reads_without_writing(auto& store) {
  const CounterKey key = make_counter_key(1);
  // An absent counter reads as {0, {}} and stays absent to every read ...
  REQUIRE(add(store, key, 0, kT0 + hours(1), kT0) == CounterState{});
  REQUIRE(add(store, key, 0, kT0 + hours(1), kT0 + minutes(1)) == CounterState{});
  // ... so the window of the first real increment is the one passed then, not at the read.
  REQUIRE(add(store, key, 1, kT0 + hours(2), kT0 + minutes(2)) == CounterState{1, kT0 + hours(2)});
  REQUIRE(add(store, key, 0, kT0 + hours(7), kT0 + minutes(3)) == CounterState{1, kT0 + hours(2)});
  REQUIRE(add(store, key, 0, kT0 + hours(7), kT0 + minutes(4)) == CounterState{1, kT0 + hours(2)});
  // An ended window reads as absent, and a zero step does not restart it.
  REQUIRE(add(store, key, 0, kT0 + hours(7), kT0 + hours(2)) == CounterState{});
  const std::array<CounterKey, 1> keys{key};
  std::array<CounterState, 1> out{};
  REQUIRE(store.read_counters(make_index(1), keys, std::span(out), kT0 + hours(2)).is_ok());
  REQUIRE(out[0] == CounterState{});
  REQUIRE(add(store, key, 1, kT0 + hours(3), kT0 + hours(2)) == CounterState{1, kT0 + hours(3)});
  // A counter only zero steps touched is nothing to any read, and purge may remove it.
  REQUIRE(add(store, make_counter_key(2), 0, kT0 + hours(1), kT0) == CounterState{});
  const std::array<CounterKey, 1> other{make_counter_key(2)};
  REQUIRE(store.read_counters(make_index(1), other, std::span(out), kT0).is_ok());
  REQUIRE(out[0] == CounterState{});
  auto purged = store.purge_expired(kT0 + hours(100), 10000);
  REQUIRE(purged.is_ok());
  REQUIRE(purged->counters >= 1);
  REQUIRE(add(store, make_counter_key(2), 0, kT0 + hours(101), kT0 + hours(100)) == CounterState{});
}
inline void a_counter_saturates_instead_of_wrapping(auto& store) {
  const CounterKey key = make_counter_key(1);
  constexpr std::uint32_t kMax = std::numeric_limits<std::uint32_t>::max();
  REQUIRE(add(store, key, kMax - 1, kT0 + hours(1), kT0).count == kMax - 1);
  REQUIRE(add(store, key, 5, kT0 + hours(1), kT0).count == kMax);
  REQUIRE(add(store, key, 1, kT0 + hours(1), kT0).count == kMax);
}
inline void counters_with_different_keys_are_independent(auto& store) {
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
inline void purge_expired_removes_only_expired_rows(auto& store) {
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
inline void purge_expired_removes_at_most_batch_rows_of_each_kind_per_call(auto& store) {
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

inline void charge_attempt_counts_a_failure_for_the_identifier_and_consume_clears_it(auto& store) {
  ChallengeRecord a = make_challenge(1);
  ChallengeRecord b = make_challenge(2);
  b.index = a.index;  // two challenges of one identifier
  ChallengeRecord other = make_challenge(3);
  create(store, a);
  create(store, b);
  create(store, other);
  const Timestamp window_end = kT0 + hours(24);
  ChargeResult first = charge(store, a.id, kT0);
  REQUIRE(first.outcome == ChargeOutcome::kCharged);
  REQUIRE(first.failures == CounterState{1, window_end});
  // Across the identifier's challenges; the window is the first failure's.
  auto second = store.charge_attempt(b.id, kT0 + minutes(1), kT0 + minutes(1) + hours(24));
  REQUIRE(second.is_ok());
  REQUIRE(second->failures == CounterState{2, window_end});
  REQUIRE(charge(store, other.id, kT0).failures == CounterState{1, window_end});
  // A miss counts nothing.
  REQUIRE(charge(store, make_id(9), kT0).outcome == ChargeOutcome::kNotFound);
  BlindIndex none = a.index;
  none.key_version = 8;  // the same value under another key version is another identifier
  std::array<CounterState, 0> no_counters{};
  auto read = store.read_counters(a.index, {}, std::span(no_counters), kT0 + minutes(2));
  REQUIRE(read.is_ok());
  REQUIRE(*read == CounterState{2, window_end});
  auto unrelated = store.read_counters(none, {}, std::span(no_counters), kT0);
  REQUIRE(unrelated.is_ok());
  REQUIRE(*unrelated == CounterState{});
  // Consuming one challenge clears the identifier's count, not the other identifier's.
  auto consumed = store.consume_challenge(a.id);
  REQUIRE(consumed.is_ok());
  REQUIRE(*consumed);
  auto after = store.read_counters(a.index, {}, std::span(no_counters), kT0 + minutes(2));
  REQUIRE(after.is_ok());
  REQUIRE(*after == CounterState{});
  auto kept = store.read_counters(other.index, {}, std::span(no_counters), kT0 + minutes(2));
  REQUIRE(kept.is_ok());
  REQUIRE(*kept == CounterState{1, window_end});
  // The next failure starts a new window.
  REQUIRE(charge(store, b.id, kT0 + minutes(5)).failures ==
          CounterState{1, kT0 + minutes(5) + hours(24)});
}

inline void a_failure_count_restarts_after_its_window_and_purge_removes_only_ended_ones(
    auto& store) {
  ChallengeRecord a = make_challenge(1, kT0 + hours(48), 100);
  ChallengeRecord b = make_challenge(2, kT0 + hours(48), 100);
  create(store, a);
  create(store, b);
  REQUIRE(store.charge_attempt(a.id, kT0, kT0 + hours(1))->failures.count == 1);
  REQUIRE(store.charge_attempt(a.id, kT0 + minutes(59), kT0 + hours(2))->failures ==
          CounterState{2, kT0 + hours(1)});
  REQUIRE(store.charge_attempt(b.id, kT0 + minutes(30), kT0 + hours(3))->failures ==
          CounterState{1, kT0 + hours(3)});
  // From its window end on, a's count is gone and purge removes it; b's stays.
  std::array<CounterState, 0> none{};
  REQUIRE(*store.read_counters(a.index, {}, std::span(none), kT0 + hours(1)) == CounterState{});
  const PurgeCounts purged = purge(store, kT0 + hours(1), 10000);
  REQUIRE(purged.challenges == 0);
  REQUIRE(purged.counters == 1);
  REQUIRE(*store.read_counters(b.index, {}, std::span(none), kT0 + hours(1)) ==
          CounterState{1, kT0 + hours(3)});
  REQUIRE(store.charge_attempt(a.id, kT0 + hours(1), kT0 + hours(5))->failures ==
          CounterState{1, kT0 + hours(5)});
}

inline void a_failure_count_saturates_instead_of_wrapping_and_charges_stay_exact(auto& store) {
  // Two threads racing over 2 x 100 charges of one identifier's two challenges: every charge is
  // counted once.
  ChallengeRecord a = make_challenge(1, kT0 + hours(1), 100);
  ChallengeRecord b = make_challenge(2, kT0 + hours(1), 100);
  b.index = a.index;
  create(store, a);
  create(store, b);
  std::atomic<int> errors{0};
  auto run = [&](const ChallengeId& id) {
    for (int i = 0; i < 100; ++i) {
      auto r = store.charge_attempt(id, kT0, kT0 + hours(24));
      if (!r.is_ok() || r->outcome != ChargeOutcome::kCharged) ++errors;
    }
  };
  std::thread t1(run, a.id);
  std::thread t2(run, b.id);
  t1.join();
  t2.join();
  REQUIRE(errors == 0);
  std::array<CounterState, 0> none{};
  REQUIRE(store.read_counters(a.index, {}, std::span(none), kT0)->count == 200);
}

inline void create_challenge_applies_its_counter_steps_in_the_same_step(auto& store) {
  std::array<CounterUpdate, 3> steps{{{make_counter_key(1), 1, kT0 + hours(1), {}},
                                      {make_counter_key(2), 0, kT0 + hours(1), {}},
                                      {make_counter_key(1), 2, kT0 + hours(9), {}}}};
  const ChallengeRecord record = make_challenge(1);
  REQUIRE(store.create_challenge(record, std::span(steps), kT0).is_ok());
  REQUIRE(steps[0].after == CounterState{1, kT0 + hours(1)});
  REQUIRE(steps[1].after == CounterState{});  // delta 0 reads an absent counter and writes none
  REQUIRE(steps[2].after == CounterState{3, kT0 + hours(1)});  // in order, the same counter
  REQUIRE(find(store, record.id) == record);
  // A duplicate id is refused and applies no counter step.
  std::array<CounterUpdate, 1> again{{{make_counter_key(1), 5, kT0 + hours(1), {}}}};
  REQUIRE(store.create_challenge(record, std::span(again), kT0).code() == ErrorCode::kStoreError);
  const std::array<CounterKey, 2> keys{make_counter_key(1), make_counter_key(2)};
  std::array<CounterState, 2> out{};
  REQUIRE(store.read_counters(record.index, keys, std::span(out), kT0).is_ok());
  REQUIRE(out[0] == CounterState{3, kT0 + hours(1)});
  REQUIRE(out[1] == CounterState{});
}

inline void reissue_applies_its_counter_steps_only_when_it_reissues(auto& store) {
  const ChallengeRecord record = make_challenge(1, kT0 + minutes(10));
  create(store, record);
  std::array<CounterUpdate, 1> steps{{{make_counter_key(1), 1, kT0 + hours(1), {}}}};
  auto gone =
      store.reissue_challenge(make_id(9), make_tag(9), kT0 + minutes(20), std::span(steps), kT0);
  REQUIRE(gone.is_ok());
  REQUIRE_FALSE(*gone);
  const std::array<CounterKey, 1> keys{make_counter_key(1)};
  std::array<CounterState, 1> out{};
  REQUIRE(store.read_counters(record.index, keys, std::span(out), kT0).is_ok());
  REQUIRE(out[0] == CounterState{});
  auto done =
      store.reissue_challenge(record.id, make_tag(7), kT0 + minutes(20), std::span(steps), kT0);
  REQUIRE(done.is_ok());
  REQUIRE(*done);
  REQUIRE(steps[0].after == CounterState{1, kT0 + hours(1)});
}

inline void live_challenges_counts_the_unexpired_challenges_of_a_key_version(auto& store) {
  ChallengeRecord live = make_challenge(1, kT0 + minutes(10));
  live.index.key_version = 1;
  ChallengeRecord expired = make_challenge(2, kT0 - minutes(1));
  expired.index.key_version = 1;
  ChallengeRecord other = make_challenge(3, kT0 + minutes(10));
  other.index.key_version = 2;
  for (const ChallengeRecord& r : {live, expired, other}) create(store, r);
  REQUIRE(*store.live_challenges(1, kT0) == 1);  // the expired one no longer uses the key
  REQUIRE(*store.live_challenges(2, kT0) == 1);
  REQUIRE(*store.live_challenges(3, kT0) == 0);
}

}  // namespace veribind::testing::contract

#define VERIBIND_VERIFICATION_CONTRACT_TESTS(TAG, MAKE_STORE)                                      \
  VERIBIND_CONTRACT_CASE("verification store", ::veribind::VerificationStore, TAG, MAKE_STORE,     \
                         "create then find returns the identical record",                          \
                         create_then_find_returns_the_identical_record)                            \
  VERIBIND_CONTRACT_CASE("verification store", ::veribind::VerificationStore, TAG, MAKE_STORE,     \
                         "find of an unknown id returns nothing",                                  \
                         find_of_an_unknown_id_returns_nothing)                                    \
  VERIBIND_CONTRACT_CASE("verification store", ::veribind::VerificationStore, TAG, MAKE_STORE,     \
                         "a duplicate create is refused and the original is unchanged",            \
                         a_duplicate_create_is_refused_and_the_original_is_unchanged)              \
  VERIBIND_CONTRACT_CASE("verification store", ::veribind::VerificationStore, TAG, MAKE_STORE,     \
                         "charge_attempt increments and returns the record after the increment",   \
                         charge_attempt_increments_and_returns_the_record_after_the_increment)     \
  VERIBIND_CONTRACT_CASE("verification store", ::veribind::VerificationStore, TAG, MAKE_STORE,     \
                         "charge_attempt on an unknown id is not found and creates nothing",       \
                         charge_attempt_on_an_unknown_id_is_not_found_and_creates_nothing)         \
  VERIBIND_CONTRACT_CASE("verification store", ::veribind::VerificationStore, TAG, MAKE_STORE,     \
                         "charge_attempt is expired from expires_at on and charges nothing",       \
                         charge_attempt_is_expired_from_expires_at_on_and_charges_nothing)         \
  VERIBIND_CONTRACT_CASE("verification store", ::veribind::VerificationStore, TAG, MAKE_STORE,     \
                         "charge_attempt never charges past max_attempts",                         \
                         charge_attempt_never_charges_past_max_attempts)                           \
  VERIBIND_CONTRACT_CASE("verification store", ::veribind::VerificationStore, TAG, MAKE_STORE,     \
                         "two threads racing charges get exactly max_attempts charged",            \
                         two_threads_racing_charges_get_exactly_max_attempts_charged)              \
  VERIBIND_CONTRACT_CASE("verification store", ::veribind::VerificationStore, TAG, MAKE_STORE,     \
                         "consume_challenge returns true once then false",                         \
                         consume_challenge_returns_true_once_then_false)                           \
  VERIBIND_CONTRACT_CASE("verification store", ::veribind::VerificationStore, TAG, MAKE_STORE,     \
                         "reissue replaces tag and expiry and keeps attempts",                     \
                         reissue_replaces_tag_and_expiry_and_keeps_attempts)                       \
  VERIBIND_CONTRACT_CASE("verification store", ::veribind::VerificationStore, TAG, MAKE_STORE,     \
                         "reissue is refused for a challenge that is gone or expired",             \
                         reissue_is_refused_for_a_challenge_that_is_gone_or_expired)               \
  VERIBIND_CONTRACT_CASE("verification store", ::veribind::VerificationStore, TAG, MAKE_STORE,     \
                         "a counter increments within its window",                                 \
                         a_counter_increments_within_its_window)                                   \
  VERIBIND_CONTRACT_CASE("verification store", ::veribind::VerificationStore, TAG, MAKE_STORE,     \
                         "a counter restarts at one from its window end on",                       \
                         a_counter_restarts_at_one_from_its_window_end_on)                         \
  VERIBIND_CONTRACT_CASE("verification store", ::veribind::VerificationStore, TAG, MAKE_STORE,     \
                         "add_to_counter adds delta and returns the window end",                   \
                         add_to_counter_adds_delta_and_returns_the_window_end)                     \
  VERIBIND_CONTRACT_CASE("verification store", ::veribind::VerificationStore, TAG, MAKE_STORE,     \
                         "a zero delta reads without writing", a_zero_delta_reads_without_writing) \
  VERIBIND_CONTRACT_CASE("verification store", ::veribind::VerificationStore, TAG, MAKE_STORE,     \
                         "a counter saturates instead of wrapping",                                \
                         a_counter_saturates_instead_of_wrapping)                                  \
  VERIBIND_CONTRACT_CASE("verification store", ::veribind::VerificationStore, TAG, MAKE_STORE,     \
                         "counters with different keys are independent",                           \
                         counters_with_different_keys_are_independent)                             \
  VERIBIND_CONTRACT_CASE("verification store", ::veribind::VerificationStore, TAG, MAKE_STORE,     \
                         "purge_expired removes only expired rows",                                \
                         purge_expired_removes_only_expired_rows)                                  \
  VERIBIND_CONTRACT_CASE("verification store", ::veribind::VerificationStore, TAG, MAKE_STORE,     \
                         "purge_expired removes at most batch rows of each kind per call",         \
                         purge_expired_removes_at_most_batch_rows_of_each_kind_per_call)           \
  VERIBIND_CONTRACT_CASE(                                                                          \
      "verification store", ::veribind::VerificationStore, TAG, MAKE_STORE,                        \
      "charge_attempt counts a failure for the identifier and consume clears it",                  \
      charge_attempt_counts_a_failure_for_the_identifier_and_consume_clears_it)                    \
  VERIBIND_CONTRACT_CASE(                                                                          \
      "verification store", ::veribind::VerificationStore, TAG, MAKE_STORE,                        \
      "a failure count restarts after its window and purge removes only ended ones",               \
      a_failure_count_restarts_after_its_window_and_purge_removes_only_ended_ones)                 \
  VERIBIND_CONTRACT_CASE("verification store", ::veribind::VerificationStore, TAG, MAKE_STORE,     \
                         "failure counts stay exact under racing charges",                         \
                         a_failure_count_saturates_instead_of_wrapping_and_charges_stay_exact)     \
  VERIBIND_CONTRACT_CASE("verification store", ::veribind::VerificationStore, TAG, MAKE_STORE,     \
                         "create_challenge applies its counter steps in the same step",            \
                         create_challenge_applies_its_counter_steps_in_the_same_step)              \
  VERIBIND_CONTRACT_CASE("verification store", ::veribind::VerificationStore, TAG, MAKE_STORE,     \
                         "reissue applies its counter steps only when it reissues",                \
                         reissue_applies_its_counter_steps_only_when_it_reissues)                  \
  VERIBIND_CONTRACT_CASE("verification store", ::veribind::VerificationStore, TAG, MAKE_STORE,     \
                         "live_challenges counts the unexpired challenges of a key version",       \
                         live_challenges_counts_the_unexpired_challenges_of_a_key_version)
