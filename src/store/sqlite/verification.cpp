// SqliteStore: challenges, rate-limit counters and failure counts (VerificationStore), on the
// verification connection.
#include <algorithm>
#include <cstdint>
#include <mutex>

#include "store/sql/row_codec.hpp"
#include "store/sqlite/sqlite_impl.hpp"

namespace veribind {

using sqlite::bind_blob;
using sqlite::bind_int;
using sqlite::sqlite_error;
using sqlite::StmtId;
using sqlite::StmtRow;
using sqlite::store_error;
using sqlite::Use;

namespace {

constexpr std::string_view kMalformedChallenge = "a stored challenge is malformed";

int bind_challenge(sqlite3_stmt* s, const ChallengeRecord& r) {
  int rc = bind_blob(s, 1, r.id.bytes);
  if (rc == SQLITE_OK) rc = bind_blob(s, 2, r.code_tag);
  if (rc == SQLITE_OK) rc = bind_blob(s, 3, r.index.value);
  if (rc == SQLITE_OK) rc = bind_int(s, 4, r.index.key_version);
  if (rc == SQLITE_OK) rc = bind_int(s, 5, sql::to_ms(r.expires_at));
  if (rc == SQLITE_OK) rc = bind_int(s, 6, static_cast<std::int64_t>(r.purpose));
  if (rc == SQLITE_OK) rc = bind_int(s, 7, static_cast<std::int64_t>(r.channel));
  if (rc == SQLITE_OK) rc = bind_int(s, 8, static_cast<std::int64_t>(r.phone_type));
  if (rc == SQLITE_OK) {
    rc = sqlite3_bind_text(s, 9, r.region.data(), static_cast<int>(r.region.size()), SQLITE_STATIC);
  }
  if (rc == SQLITE_OK) rc = bind_int(s, 10, r.attempts);
  if (rc == SQLITE_OK) rc = bind_int(s, 11, r.max_attempts);
  if (rc == SQLITE_OK) rc = bind_int(s, 12, r.provider_canonical ? 1 : 0);
  if (rc == SQLITE_OK) rc = bind_int(s, 13, r.calling_code);
  return rc;
}

// Applies each step of a batch in order, inside the caller's transaction: the same write for
// every delta (see kAddToCounter), so that a refused request does the work an admitted one does.
Status apply_counters(const sqlite::Connection& c, std::string_view op,
                      std::span<CounterUpdate> counters, Timestamp now) {
  for (CounterUpdate& u : counters) {
    Use s(c.stmt(StmtId::kAddToCounter));
    int rc = bind_blob(s.get(), 1, u.key);
    if (rc == SQLITE_OK) rc = bind_int(s.get(), 2, sql::to_ms(u.window_end));
    if (rc == SQLITE_OK) rc = bind_int(s.get(), 3, u.delta);
    if (rc == SQLITE_OK) rc = bind_int(s.get(), 4, sql::to_ms(now));
    if (rc != SQLITE_OK) return sqlite_error(op, rc);
    rc = sqlite3_step(s.get());
    if (rc != SQLITE_ROW) return sqlite_error(op, rc == SQLITE_DONE ? SQLITE_INTERNAL : rc);
    if (!sql::decode_counter_or_none(StmtRow(s.get()), 0, u.after)) {
      return store_error(op, "a stored counter is malformed");
    }
    rc = sqlite3_step(s.get());
    if (rc != SQLITE_DONE) return sqlite_error(op, rc);
  }
  return {};
}

// Runs a statement whose only result is the number of rows it changed.
Result<std::size_t> changes_of(const sqlite::Connection& c, sqlite3_stmt* s, std::string_view op) {
  const int rc = sqlite3_step(s);
  if (rc != SQLITE_DONE) return sqlite_error(op, rc);
  return static_cast<std::size_t>(sqlite3_changes64(c.db()));
}

}  // namespace

Status SqliteStore::create_challenge(const ChallengeRecord& record,
                                     std::span<CounterUpdate> counters, Timestamp now) {
  constexpr std::string_view op = "create_challenge";
  sqlite::Connection& c = impl_->verification;
  std::lock_guard lock(c.mutex);
  auto body = [&]() -> Result<bool> {
    {
      Use s(c.stmt(StmtId::kInsertChallenge));
      int rc = bind_challenge(s.get(), record);
      if (rc != SQLITE_OK) return sqlite_error(op, rc);
      rc = sqlite3_step(s.get());
      if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        return store_error(op, "the challenge id exists already");
      }
      if (rc != SQLITE_DONE) return sqlite_error(op, rc);
    }
    if (Status ok = apply_counters(c, op, counters, now); !ok) return ok;
    return true;
  };
  Result<bool> done = c.in_write_transaction(op, body, [](bool) { return true; });
  return done ? Status::ok() : done.status();
}

Result<bool> SqliteStore::reissue_challenge(const ChallengeId& id,
                                            const std::array<std::uint8_t, 16>& code_tag,
                                            Timestamp expires_at, std::span<CounterUpdate> counters,
                                            Timestamp now) {
  constexpr std::string_view op = "reissue_challenge";
  sqlite::Connection& c = impl_->verification;
  std::lock_guard lock(c.mutex);
  auto body = [&]() -> Result<bool> {
    {
      Use s(c.stmt(StmtId::kReissueChallenge));
      int rc = bind_blob(s.get(), 1, id.bytes);
      if (rc == SQLITE_OK) rc = bind_blob(s.get(), 2, code_tag);
      if (rc == SQLITE_OK) rc = bind_int(s.get(), 3, sql::to_ms(expires_at));
      if (rc == SQLITE_OK) rc = bind_int(s.get(), 4, sql::to_ms(now));
      if (rc != SQLITE_OK) return sqlite_error(op, rc);
      Result<std::size_t> changed = changes_of(c, s.get(), op);
      if (!changed) return changed.status();
      if (*changed == 0) return false;  // no live challenge: the counters stay as they are
    }
    if (Status ok = apply_counters(c, op, counters, now); !ok) return ok;
    return true;
  };
  return c.in_write_transaction(op, body, [](bool reissued) { return reissued; });
}

Status SqliteStore::add_to_counters(std::span<CounterUpdate> counters, Timestamp now) {
  constexpr std::string_view op = "add_to_counters";
  if (counters.empty()) return {};
  sqlite::Connection& c = impl_->verification;
  std::lock_guard lock(c.mutex);
  auto body = [&]() -> Result<bool> {
    if (Status ok = apply_counters(c, op, counters, now); !ok) return ok;
    return true;
  };
  Result<bool> done = c.in_write_transaction(op, body, [](bool) { return true; });
  return done ? Status::ok() : done.status();
}

Result<CounterState> SqliteStore::read_counters(const BlindIndex& identifier,
                                                std::span<const CounterKey> keys,
                                                std::span<CounterState> out, Timestamp now) {
  constexpr std::string_view op = "read_counters";
  if (out.size() != keys.size()) {
    return Status(ErrorCode::kInvalidArgument, "sqlite store: one output per counter key");
  }
  sqlite::Connection& c = impl_->verification;
  std::lock_guard lock(c.mutex);
  // A read transaction: the failure count and every counter from one snapshot.
  auto body = [&]() -> Result<CounterState> {
    for (std::size_t i = 0; i < keys.size(); ++i) {
      Use s(c.stmt(StmtId::kReadCounter));
      int rc = bind_blob(s.get(), 1, keys[i]);
      if (rc == SQLITE_OK) rc = bind_int(s.get(), 2, sql::to_ms(now));
      if (rc != SQLITE_OK) return sqlite_error(op, rc);
      rc = sqlite3_step(s.get());
      out[i] = {};
      if (rc == SQLITE_DONE) continue;
      if (rc != SQLITE_ROW) return sqlite_error(op, rc);
      if (!sql::decode_counter(StmtRow(s.get()), 0, out[i])) {
        return store_error(op, "a stored counter is malformed");
      }
    }
    Use s(c.stmt(StmtId::kReadFailures));
    int rc = bind_blob(s.get(), 1, identifier.value);
    if (rc == SQLITE_OK) rc = bind_int(s.get(), 2, identifier.key_version);
    if (rc == SQLITE_OK) rc = bind_int(s.get(), 3, sql::to_ms(now));
    if (rc != SQLITE_OK) return sqlite_error(op, rc);
    rc = sqlite3_step(s.get());
    CounterState failures;
    if (rc == SQLITE_DONE) return failures;
    if (rc != SQLITE_ROW) return sqlite_error(op, rc);
    if (!sql::decode_counter(StmtRow(s.get()), 0, failures)) {
      return store_error(op, "a stored failure count is malformed");
    }
    return failures;
  };
  return c.in_read_transaction(op, body);
}

Result<ChargeResult> SqliteStore::charge_attempt(const ChallengeId& id, Timestamp now,
                                                 Timestamp failure_window_end) {
  constexpr std::string_view op = "charge_attempt";
  sqlite::Connection& c = impl_->verification;
  std::lock_guard lock(c.mutex);
  // The UPDATE is the atomic step. When it matches nothing, a second read says why; if another
  // process changed the row in between (a reissue, say) so that it is chargeable again, try the
  // UPDATE again rather than report an outcome that was never true.
  constexpr int kRounds = 3;
  for (int round = 0; round < kRounds; ++round) {
    {
      Use s(c.stmt(StmtId::kChargeAttempt));
      int rc = bind_blob(s.get(), 1, id.bytes);
      if (rc == SQLITE_OK) rc = bind_int(s.get(), 2, sql::to_ms(now));
      if (rc == SQLITE_OK) rc = bind_int(s.get(), 3, sql::to_ms(failure_window_end));
      if (rc != SQLITE_OK) return sqlite_error(op, rc);
      rc = sqlite3_step(s.get());
      if (rc == SQLITE_ROW) {
        ChargeResult charged;
        charged.outcome = ChargeOutcome::kCharged;
        const StmtRow row(s.get());
        const bool well_formed =
            sql::decode_challenge(row, 0, charged.record) &&
            sql::decode_counter(row, sqlite::kChargeFailureColumn, charged.failures);
        // The autocommit transaction commits when the statement runs to completion; only then is
        // the attempt charged. A failed commit rolls the increment and the count back.
        rc = sqlite3_step(s.get());
        if (rc != SQLITE_DONE) return sqlite_error(op, rc);
        if (!well_formed) return store_error(op, kMalformedChallenge);
        return charged;
      }
      if (rc != SQLITE_DONE) return sqlite_error(op, rc);
    }
    Use s(c.stmt(StmtId::kFindChallenge));
    int rc = bind_blob(s.get(), 1, id.bytes);
    if (rc != SQLITE_OK) return sqlite_error(op, rc);
    rc = sqlite3_step(s.get());
    std::optional<ChallengeRecord> found;
    if (rc == SQLITE_ROW) {
      found.emplace();
      if (!sql::decode_challenge(StmtRow(s.get()), 0, *found)) {
        return store_error(op, kMalformedChallenge);
      }
    } else if (rc != SQLITE_DONE) {
      return sqlite_error(op, rc);
    }
    const bool chargeable =
        found && now < found->expires_at && found->attempts < found->max_attempts;
    if (!chargeable) return ChargeResult{sql::classify_miss(found, now), {}, {}};
  }
  return Status(ErrorCode::kUnavailable,
                "sqlite store: charge_attempt failed: the challenge kept changing under "
                "concurrent writers");
}

Result<bool> SqliteStore::consume_challenge(const ChallengeId& id) {
  constexpr std::string_view op = "consume_challenge";
  sqlite::Connection& c = impl_->verification;
  std::lock_guard lock(c.mutex);
  // The challenge and its identifier's failure count go together. Racing callers (in any
  // process) are ordered by the write lock taken at BEGIN, and only the first finds the row.
  auto body = [&]() -> Result<bool> {
    BlindIndex index;
    {
      Use s(c.stmt(StmtId::kConsumeChallenge));
      int rc = bind_blob(s.get(), 1, id.bytes);
      if (rc != SQLITE_OK) return sqlite_error(op, rc);
      rc = sqlite3_step(s.get());
      if (rc == SQLITE_DONE) return false;
      if (rc != SQLITE_ROW) return sqlite_error(op, rc);
      const StmtRow row(s.get());
      if (!row.bytes(0, index.value) || !sql::read_u32(row, 1, index.key_version)) {
        return store_error(op, kMalformedChallenge);
      }
      rc = sqlite3_step(s.get());
      if (rc != SQLITE_DONE) return sqlite_error(op, rc);
    }
    Use s(c.stmt(StmtId::kClearFailures));
    int rc = bind_blob(s.get(), 1, index.value);
    if (rc == SQLITE_OK) rc = bind_int(s.get(), 2, index.key_version);
    if (rc != SQLITE_OK) return sqlite_error(op, rc);
    rc = sqlite3_step(s.get());
    if (rc != SQLITE_DONE) return sqlite_error(op, rc);
    return true;
  };
  return c.in_write_transaction(op, body, [](bool consumed) { return consumed; });
}

Result<std::optional<ChallengeRecord>> SqliteStore::find_challenge(const ChallengeId& id) {
  constexpr std::string_view op = "find_challenge";
  sqlite::Connection& c = impl_->verification;
  std::lock_guard lock(c.mutex);
  Use s(c.stmt(StmtId::kFindChallenge));
  int rc = bind_blob(s.get(), 1, id.bytes);
  if (rc != SQLITE_OK) return sqlite_error(op, rc);
  rc = sqlite3_step(s.get());
  if (rc == SQLITE_DONE) return std::optional<ChallengeRecord>();
  if (rc != SQLITE_ROW) return sqlite_error(op, rc);
  ChallengeRecord record;
  if (!sql::decode_challenge(StmtRow(s.get()), 0, record)) {
    return store_error(op, kMalformedChallenge);
  }
  return std::optional<ChallengeRecord>(record);
}

Result<PurgeCounts> SqliteStore::purge_expired(Timestamp now, std::size_t batch) {
  constexpr std::string_view op = "purge_expired";
  if (batch == 0) return PurgeCounts{};
  sqlite::Connection& c = impl_->verification;
  std::lock_guard lock(c.mutex);
  auto purge = [&](StmtId which, std::size_t limit) -> Result<std::size_t> {
    if (limit == 0) return std::size_t{0};
    Use s(c.stmt(which));
    int rc = bind_int(s.get(), 1, sql::to_ms(now));
    if (rc == SQLITE_OK) rc = bind_int(s.get(), 2, sql::clamp_limit(limit));
    if (rc != SQLITE_OK) return sqlite_error(op, rc);
    return changes_of(c, s.get(), op);
  };
  // Every kind in one transaction, so a failure part-way leaves all as they were. Counters and
  // failure counts share the batch: they are one kind of row to the caller.
  auto body = [&]() -> Result<PurgeCounts> {
    Result<std::size_t> challenges = purge(StmtId::kPurgeChallenges, batch);
    if (!challenges) return challenges.status();
    Result<std::size_t> counters = purge(StmtId::kPurgeCounters, batch);
    if (!counters) return counters.status();
    Result<std::size_t> failures = purge(StmtId::kPurgeFailures, batch - *counters);
    if (!failures) return failures.status();
    return PurgeCounts{*challenges, *counters + *failures};
  };
  return c.in_write_transaction(op, body, [](const PurgeCounts&) { return true; });
}

Result<std::size_t> SqliteStore::live_challenges(std::uint32_t key_version, Timestamp now) {
  constexpr std::string_view op = "live_challenges";
  sqlite::Connection& c = impl_->verification;
  std::lock_guard lock(c.mutex);
  Use s(c.stmt(StmtId::kLiveChallenges));
  int rc = bind_int(s.get(), 1, key_version);
  if (rc == SQLITE_OK) rc = bind_int(s.get(), 2, sql::to_ms(now));
  if (rc != SQLITE_OK) return sqlite_error(op, rc);
  rc = sqlite3_step(s.get());
  if (rc != SQLITE_ROW) return sqlite_error(op, rc == SQLITE_DONE ? SQLITE_INTERNAL : rc);
  return static_cast<std::size_t>(sqlite3_column_int64(s.get(), 0));
}

}  // namespace veribind
