// PostgresStore: challenges, counters and failure counts (VerificationStore). Every operation is
// one prepared statement, so one round trip and one transaction (statements.cpp says why each
// is atomic), committed without waiting for the WAL flush (pool.hpp).
#include <algorithm>
#include <type_traits>
#include <vector>

#include "store/postgres/postgres_impl.hpp"
#include "store/sql/row_codec.hpp"

namespace veribind {

using postgres::Params;
using postgres::PgResult;
using postgres::PgRow;
using postgres::result_error;
using postgres::run_prepared;
using postgres::store_error;
using postgres::tuples_ok;
using postgres::unexpected_shape;

namespace {

// The batch split into consecutive runs whose keys are distinct, each of which one statement can
// apply (an upsert cannot touch one row twice). A batch from the Verifier is one run.
std::vector<std::span<CounterUpdate>> distinct_runs(std::span<CounterUpdate> steps) {
  std::vector<std::span<CounterUpdate>> runs;
  std::size_t first = 0;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    for (std::size_t j = first; j < i; ++j) {
      if (steps[j].key == steps[i].key) {
        runs.push_back(steps.subspan(first, i - first));
        first = i;
        break;
      }
    }
  }
  if (first < steps.size() || runs.empty()) runs.push_back(steps.subspan(first));
  return runs;
}

// The three array parameters of a run of counter steps: keys, deltas, window ends.
void add_steps(Params& p, std::span<const CounterUpdate> steps) {
  std::vector<std::span<const std::uint8_t>> keys;
  std::vector<std::int64_t> deltas, ends;
  keys.reserve(steps.size());
  deltas.reserve(steps.size());
  ends.reserve(steps.size());
  for (const CounterUpdate& u : steps) {
    keys.emplace_back(u.key);
    deltas.push_back(u.delta);
    ends.push_back(sql::to_ms(u.window_end));
  }
  p.bytea_array(keys);
  p.int8_array(deltas);
  p.int8_array(ends);
}

// Fills each step's `after` from a counter statement's rows (statements.hpp); a row numbered 0
// goes to `row_zero` (nullptr: none is expected).
Status read_steps(std::string_view op, const PGresult* r, std::span<CounterUpdate> steps,
                  CounterState* row_zero = nullptr) {
  for (CounterUpdate& u : steps) u.after = {};
  for (int row = 0; row < PQntuples(r); ++row) {
    const PgRow pg(r, row);
    std::int64_t n = -1;
    if (!pg.integer(0, n) || n < 0 || n > static_cast<std::int64_t>(steps.size())) {
      return unexpected_shape(op);
    }
    CounterState* into = n == 0 ? row_zero : &steps[static_cast<std::size_t>(n - 1)].after;
    if (into == nullptr) return unexpected_shape(op);
    if (!sql::decode_counter_or_none(pg, 1, *into)) {
      return store_error(op, "a stored counter is malformed");
    }
  }
  return {};
}

// Applies a run of steps with kAddToCounters on `conn`.
Status add_run(std::string_view op, PGconn* conn, std::span<CounterUpdate> steps, Timestamp now) {
  Params p;
  add_steps(p, steps);
  p.int8(sql::to_ms(now));
  PgResult r = run_prepared(conn, postgres::kAddToCounters, p);
  if (!tuples_ok(r.get())) return result_error(op, conn, r.get());
  return read_steps(op, r.get(), steps);
}

// Runs `first(conn)` (the statement that carries the first run) and then every later run, as one
// atomic step: one statement when there is one run, one transaction otherwise.
template <typename First>
auto with_runs(postgres::Pool& pool, std::string_view op, std::span<CounterUpdate> counters,
               Timestamp now, First first) -> decltype(first(nullptr, counters)) {
  const auto runs = distinct_runs(counters);
  if (runs.size() == 1) {
    return pool.run(op, [&](PGconn* conn) { return first(conn, runs[0]); });
  }
  return pool.run_transaction(op, [&](PGconn* conn) -> decltype(first(conn, runs[0])) {
    auto done = first(conn, runs[0]);
    if (!done) return done;
    if constexpr (std::is_same_v<decltype(done), Result<bool>>) {
      if (!*done) return done;  // nothing reissued: no counter moves
    }
    for (std::size_t i = 1; i < runs.size(); ++i) {
      if (Status s = add_run(op, conn, runs[i], now); !s) return s;
    }
    return done;
  });
}

}  // namespace

Status PostgresStore::create_challenge(const ChallengeRecord& record,
                                       std::span<CounterUpdate> counters, Timestamp now) {
  constexpr std::string_view op = "create_challenge";
  return with_runs(*impl_->pool, op, counters, now,
                   [&](PGconn* conn, std::span<CounterUpdate> run) -> Status {
                     Params p;
                     p.bytes(record.id.bytes);
                     p.bytes(record.code_tag);
                     p.bytes(record.index.value);
                     p.int8(record.index.key_version);
                     p.int8(sql::to_ms(record.expires_at));
                     p.int8(static_cast<std::int64_t>(record.purpose));
                     p.int8(static_cast<std::int64_t>(record.channel));
                     p.int8(static_cast<std::int64_t>(record.phone_type));
                     p.text(std::string_view(record.region.data(), record.region.size()));
                     p.int8(record.attempts);
                     p.int8(record.max_attempts);
                     p.boolean(record.provider_canonical);
                     p.int8(record.calling_code);
                     add_steps(p, run);
                     p.int8(sql::to_ms(now));
                     PgResult r = run_prepared(conn, postgres::kCreateChallenge, p);
                     if (tuples_ok(r.get())) return read_steps(op, r.get(), run);
                     if (postgres::sqlstate_of(r.get()) == "23505") {
                       return store_error(op, "the challenge id exists already");
                     }
                     return result_error(op, conn, r.get());
                   });
}

Result<bool> PostgresStore::reissue_challenge(const ChallengeId& id,
                                              const std::array<std::uint8_t, 16>& code_tag,
                                              Timestamp expires_at,
                                              std::span<CounterUpdate> counters, Timestamp now) {
  constexpr std::string_view op = "reissue_challenge";
  return with_runs(
      *impl_->pool, op, counters, now,
      [&](PGconn* conn, std::span<CounterUpdate> run) -> Result<bool> {
        Params p;
        p.bytes(id.bytes);
        p.bytes(code_tag);
        p.int8(sql::to_ms(expires_at));
        p.int8(sql::to_ms(now));
        add_steps(p, run);
        PgResult r = run_prepared(conn, postgres::kReissueChallenge, p);
        if (!tuples_ok(r.get())) return result_error(op, conn, r.get());
        // Row 0 is (0, challenges reissued, NULL): read it apart from the counter rows.
        std::int64_t n = -1, reissued = -1;
        const PgRow first(r.get(), 0);
        if (PQntuples(r.get()) < 1 || !first.integer(0, n) || n != 0 ||
            !first.integer(1, reissued) || reissued < 0 || reissued > 1) {
          return unexpected_shape(op);
        }
        for (CounterUpdate& u : run) u.after = {};
        for (int row = 1; row < PQntuples(r.get()); ++row) {
          const PgRow pg(r.get(), row);
          if (!pg.integer(0, n) || n < 1 || n > static_cast<std::int64_t>(run.size()) ||
              !sql::decode_counter_or_none(pg, 1, run[static_cast<std::size_t>(n - 1)].after)) {
            return unexpected_shape(op);
          }
        }
        return reissued == 1;
      });
}

Status PostgresStore::add_to_counters(std::span<CounterUpdate> counters, Timestamp now) {
  constexpr std::string_view op = "add_to_counters";
  if (counters.empty()) return {};
  const auto runs = distinct_runs(counters);
  const auto apply_all = [&](PGconn* conn) -> Status {
    for (std::span<CounterUpdate> run : runs) {
      if (Status s = add_run(op, conn, run, now); !s) return s;
    }
    return {};
  };
  if (runs.size() == 1) return impl_->pool->run(op, apply_all);
  return impl_->pool->run_transaction(op, apply_all);
}

Result<CounterState> PostgresStore::read_counters(const BlindIndex& identifier,
                                                  std::span<const CounterKey> keys,
                                                  std::span<CounterState> out, Timestamp now) {
  constexpr std::string_view op = "read_counters";
  if (out.size() != keys.size()) {
    return Status(ErrorCode::kInvalidArgument, "postgres store: one output per counter key");
  }
  return impl_->pool->run(op, [&](PGconn* conn) -> Result<CounterState> {
    Params p;
    p.bytes(identifier.value);
    p.int8(identifier.key_version);
    std::vector<std::span<const std::uint8_t>> key_bytes(keys.begin(), keys.end());
    p.bytea_array(key_bytes);
    p.int8(sql::to_ms(now));
    PgResult r = run_prepared(conn, postgres::kReadCounters, p);
    if (!tuples_ok(r.get())) return result_error(op, conn, r.get());
    std::fill(out.begin(), out.end(), CounterState{});
    CounterState failures;
    for (int row = 0; row < PQntuples(r.get()); ++row) {
      const PgRow pg(r.get(), row);
      std::int64_t n = -1;
      if (!pg.integer(0, n) || n < 0 || n > static_cast<std::int64_t>(out.size())) {
        return unexpected_shape(op);
      }
      CounterState& into = n == 0 ? failures : out[static_cast<std::size_t>(n - 1)];
      if (!sql::decode_counter(pg, 1, into))
        return store_error(op, "a stored counter is malformed");
    }
    return failures;
  });
}

Result<ChargeResult> PostgresStore::charge_attempt(const ChallengeId& id, Timestamp now,
                                                   Timestamp failure_window_end) {
  constexpr std::string_view op = "charge_attempt";
  return impl_->pool->run(op, [&](PGconn* conn) -> Result<ChargeResult> {
    Params p;
    p.bytes(id.bytes);
    p.int8(sql::to_ms(now));
    p.int8(sql::to_ms(failure_window_end));
    PgResult r = run_prepared(conn, postgres::kChargeAttempt, p);
    if (!tuples_ok(r.get())) return result_error(op, conn, r.get());
    ChargeResult result;
    if (PQntuples(r.get()) == 0) return result;  // kNotFound
    const PgRow row(r.get(), 0);
    bool charged = false;
    if (PQntuples(r.get()) != 1 || !row.flag(0, charged)) return unexpected_shape(op);
    if (!sql::decode_challenge(row, postgres::kChargeRecordColumn, result.record)) {
      return store_error(op, "a stored challenge is malformed");
    }
    if (!charged) {
      // The challenge as it is now: expired or exhausted (statements.cpp).
      result.outcome = sql::classify_miss(result.record, now);
      result.record = {};
      return result;
    }
    if (!sql::decode_counter(row, postgres::kChargeFailureColumn, result.failures)) {
      return store_error(op, "a stored failure count is malformed");
    }
    result.outcome = ChargeOutcome::kCharged;
    return result;
  });
}

Result<bool> PostgresStore::consume_challenge(const ChallengeId& id) {
  constexpr std::string_view op = "consume_challenge";
  return impl_->pool->run(op, [&](PGconn* conn) -> Result<bool> {
    Params p;
    p.bytes(id.bytes);
    PgResult r = run_prepared(conn, postgres::kConsumeChallenge, p);
    if (!tuples_ok(r.get())) return result_error(op, conn, r.get());
    std::int64_t removed = -1;
    if (!postgres::read_counts(r.get(), 0, std::span(&removed, 1)) || removed > 1) {
      return unexpected_shape(op);
    }
    return removed == 1;
  });
}

Result<std::optional<ChallengeRecord>> PostgresStore::find_challenge(const ChallengeId& id) {
  constexpr std::string_view op = "find_challenge";
  return impl_->pool->run(op, [&](PGconn* conn) -> Result<std::optional<ChallengeRecord>> {
    Params p;
    p.bytes(id.bytes);
    PgResult r = run_prepared(conn, postgres::kFindChallenge, p);
    if (!tuples_ok(r.get())) return result_error(op, conn, r.get());
    if (PQntuples(r.get()) == 0) return std::optional<ChallengeRecord>();
    ChallengeRecord record;
    if (!sql::decode_challenge(PgRow(r.get(), 0), 0, record)) {
      return store_error(op, "a stored challenge is malformed");
    }
    return std::optional<ChallengeRecord>(record);
  });
}

Result<PurgeCounts> PostgresStore::purge_expired(Timestamp now, std::size_t batch) {
  constexpr std::string_view op = "purge_expired";
  if (batch == 0) return PurgeCounts{};
  return impl_->pool->run(op, [&](PGconn* conn) -> Result<PurgeCounts> {
    Params p;
    p.int8(sql::to_ms(now));
    p.int8(sql::clamp_limit(batch));
    PgResult r = run_prepared(conn, postgres::kPurgeExpired, p);
    if (!tuples_ok(r.get())) return result_error(op, conn, r.get());
    std::array<std::int64_t, 3> n{};  // challenges, counters, failure counts
    if (!postgres::read_counts(r.get(), 0, n)) return unexpected_shape(op);
    return PurgeCounts{static_cast<std::size_t>(n[0]), static_cast<std::size_t>(n[1] + n[2])};
  });
}

Result<std::size_t> PostgresStore::live_challenges(std::uint32_t key_version, Timestamp now) {
  constexpr std::string_view op = "live_challenges";
  return impl_->pool->run(op, [&](PGconn* conn) -> Result<std::size_t> {
    Params p;
    p.int8(key_version);
    p.int8(sql::to_ms(now));
    PgResult r = run_prepared(conn, postgres::kLiveChallenges, p);
    if (!tuples_ok(r.get())) return result_error(op, conn, r.get());
    std::int64_t n = -1;
    if (!postgres::read_counts(r.get(), 0, std::span(&n, 1))) return unexpected_shape(op);
    return static_cast<std::size_t>(n);
  });
}

}  // namespace veribind
