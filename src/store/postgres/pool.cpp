// PostgresStore's connection pool (pool.hpp): connect options, timeouts, session settings,
// durable transactions.
#include "store/postgres/pool.hpp"

#include <poll.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <utility>

#include "store/postgres/errors.hpp"
#include "store/postgres/schema.hpp"
#include "store/postgres/statements.hpp"
#include "store/postgres/wire.hpp"

namespace veribind::postgres {
namespace {

constexpr std::string_view kOpen = "open";

bool valid_schema_name(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  if (name[0] >= '0' && name[0] <= '9') return false;
  if (name.substr(0, 3) == "pg_") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// The synchronous_commit level a durable commit uses: the session's default as the server (or
// the role, database or conninfo) set it, if that waits for the local flush; on if it is off.
// Only known level names are ever spelled into SQL.
std::string durable_level(std::string_view server_default) {
  static constexpr std::array<std::string_view, 4> kWaiting = {"local", "remote_write", "on",
                                                               "remote_apply"};
  for (std::string_view level : kWaiting) {
    if (server_default == level) return std::string(level);
  }
  return "on";
}

// True if an idle connection has something to read. Idle, it should receive nothing; a server
// that shut down or restarted sends a FATAL message and closes the socket, so the connection is
// replaced before a statement is lost on it.
bool idle_connection_disturbed(PGconn* conn) {
  pollfd fd{};
  fd.fd = PQsocket(conn);
  if (fd.fd < 0) return true;
  fd.events = POLLIN;
  return ::poll(&fd, 1, 0) != 0;
}

}  // namespace

Result<std::unique_ptr<Pool>> Pool::open(const std::string& conninfo,
                                         const PostgresOptions& options) {
  using std::chrono::hours;
  using std::chrono::milliseconds;
  if (options.pool_size < 1 || options.pool_size > 64) {
    return Status(ErrorCode::kInvalidArgument, "postgres store: pool_size must be 1..64");
  }
  if (options.connect_timeout.count() < 1 || options.connect_timeout > hours(1)) {
    return Status(ErrorCode::kInvalidArgument, "postgres store: connect_timeout must be 1 s..1 h");
  }
  if (options.statement_timeout < milliseconds(1) || options.statement_timeout > hours(1)) {
    return Status(ErrorCode::kInvalidArgument,
                  "postgres store: statement_timeout must be 1 ms..1 h");
  }
  if (options.acquire_timeout < milliseconds(1) || options.acquire_timeout > hours(1)) {
    return Status(ErrorCode::kInvalidArgument, "postgres store: acquire_timeout must be 1 ms..1 h");
  }
  if (!options.schema.empty() && !valid_schema_name(options.schema)) {
    return Status(ErrorCode::kInvalidArgument,
                  "postgres store: schema must be 1..63 characters of [a-z0-9_], not starting "
                  "with a digit or pg_");
  }
  {
    // Parsed here only to refuse a malformed string with a clear code; libpq's own message is
    // not passed on, because it can quote the string, password included.
    char* error = nullptr;
    PQconninfoOption* parsed = PQconninfoParse(conninfo.c_str(), &error);
    const bool ok = parsed != nullptr;
    PQconninfoFree(parsed);
    PQfreemem(error);
    if (!ok) {
      return Status(ErrorCode::kInvalidArgument,
                    "postgres store: the connection string could not be parsed (expected "
                    "postgresql://user@host:port/database or key=value pairs)");
    }
  }

  std::unique_ptr<Pool> pool(new Pool());
  pool->options_ = options;
  const auto add = [&](std::string key, std::string value) {
    pool->keywords_.push_back(std::move(key));
    pool->values_.push_back(std::move(value));
  };
  add("connect_timeout", std::to_string(options.connect_timeout.count()));
  // A peer that vanishes without closing (a crashed host, a cut network) is noticed within about
  // a minute on an idle connection, and within statement_timeout + 10 s on a busy one.
  add("keepalives", "1");
  add("keepalives_idle", "30");
  add("keepalives_interval", "10");
  add("keepalives_count", "3");
  add("tcp_user_timeout", std::to_string(options.statement_timeout.count() + 10000));
  add("application_name", "veribind");
  add("dbname", conninfo);

  const std::string timeout = std::to_string(options.statement_timeout.count());
  pool->session_setup_ = "SET statement_timeout = " + timeout +
                         "; SET idle_in_transaction_session_timeout = " + timeout +
                         "; SET client_min_messages = warning"
                         // The lock-then-statement steps (bindings, audit appends) need each
                         // statement to see what committed before it: READ COMMITTED, whatever
                         // the server's or role's default.
                         "; SET default_transaction_isolation = 'read committed'"
                         // Every statement is prepared once and looks rows up by key: planning
                         // it anew for each call (the first five custom plans, and any the
                         // planner keeps choosing) would cost more than running it.
                         "; SET plan_cache_mode = force_generic_plan";
  if (!options.schema.empty()) {
    pool->session_setup_ += "; SET search_path = \"" + options.schema + "\"";
  }

  pool->connections_.reserve(options.pool_size);
  for (std::size_t i = 0; i < options.pool_size; ++i) {
    pool->connections_.push_back(std::make_unique<Connection>());
  }
  // The first connection now: an unreachable server or an incompatible schema is reported by
  // open(), not by the first operation. The others connect when first needed.
  if (Status ok = pool->connect(*pool->connections_[0], kOpen, true); !ok) return ok;
  for (auto it = pool->connections_.rbegin(); it != pool->connections_.rend(); ++it) {
    pool->idle_.push_back(it->get());
  }
  return pool;
}

Pool::~Pool() = default;

Status Pool::connect(Connection& c, std::string_view operation, bool migrate_first) {
  c.drop();
  std::vector<const char*> kw, val;
  for (std::size_t i = 0; i < keywords_.size(); ++i) {
    kw.push_back(keywords_[i].c_str());
    val.push_back(values_[i].c_str());
  }
  kw.push_back(nullptr);
  val.push_back(nullptr);
  c.conn = PQconnectdbParams(kw.data(), val.data(), 1);
  if (c.conn == nullptr || PQstatus(c.conn) != CONNECTION_OK) {
    Status status = connection_error(operation, c.conn);
    c.drop();
    return status;
  }
  // Notices ("relation already exists, skipping") are not for stderr.
  PQsetNoticeProcessor(
      c.conn, [](void*, const char*) {}, nullptr);
  const auto fail = [&](std::string_view step, const PGresult* r) {
    Status status = result_error(std::string(operation) + ": " + std::string(step), c.conn, r);
    c.drop();
    return status;
  };
  // The level a durable commit waits for, from the session's default before we change it.
  std::string durable;
  {
    PgResult r(PQexec(c.conn, "SHOW synchronous_commit"));
    if (!tuples_ok(r.get()) || PQntuples(r.get()) != 1) return fail("session setup", r.get());
    durable = durable_level(PQgetvalue(r.get(), 0, 0));
  }
  const std::string session_level = options_.sync_every_commit ? durable : "off";
  c.begin_durable =
      session_level == durable ? "BEGIN" : "BEGIN; SET LOCAL synchronous_commit = " + durable;
  {
    const std::string setup = session_setup_ + "; SET synchronous_commit = " + session_level;
    PgResult r(PQexec(c.conn, setup.c_str()));
    if (!command_ok(r.get())) return fail("session setup", r.get());
  }
  if (migrate_first) {
    if (Status migrated = migrate(c.conn, options_.schema); !migrated) {
      c.drop();
      return migrated;
    }
  }
  for (std::size_t i = 0; i < kStmtCount; ++i) {
    const StatementDef& def = statement(static_cast<Stmt>(i));
    PgResult r(PQprepare(c.conn, def.name, def.sql.c_str(), static_cast<int>(def.types.size()),
                         def.types.data()));
    if (!command_ok(r.get())) return fail("prepare statements", r.get());
  }
  return {};
}

Status Pool::Lease::acquire(std::string_view operation) {
  {
    std::unique_lock lock(pool_.mutex_);
    if (!pool_.freed_.wait_for(lock, pool_.options_.acquire_timeout,
                               [this] { return !pool_.idle_.empty(); })) {
      std::string message("postgres store: ");
      message.append(operation);
      message.append(" failed: no database connection became free within acquire_timeout");
      return Status(ErrorCode::kUnavailable, std::move(message));
    }
    c_ = pool_.idle_.back();
    pool_.idle_.pop_back();
  }
  const bool usable = c_->conn != nullptr && PQstatus(c_->conn) == CONNECTION_OK &&
                      PQtransactionStatus(c_->conn) == PQTRANS_IDLE &&
                      !idle_connection_disturbed(c_->conn);
  if (!usable) return pool_.connect(*c_, operation);
  return {};
}

Pool::Lease::~Lease() {
  if (c_ == nullptr) return;
  {
    std::lock_guard lock(pool_.mutex_);
    pool_.idle_.push_back(c_);
  }
  pool_.freed_.notify_one();
}

Status Pool::begin(std::string_view operation, Connection& c, bool durable) {
  PgResult r(PQexec(c.conn, durable ? c.begin_durable.c_str() : "BEGIN"));
  if (command_ok(r.get())) return {};
  Status status = result_error(operation, c.conn, r.get());
  rollback(c);
  return status;
}

Status Pool::commit(std::string_view operation, Connection& c) {
  PgResult r(PQexec(c.conn, "COMMIT"));
  if (command_ok(r.get())) return {};
  Status status = result_error(operation, c.conn, r.get());
  rollback(c);
  return status;
}

void Pool::rollback(Connection& c) {
  if (PQstatus(c.conn) == CONNECTION_OK && PQtransactionStatus(c.conn) != PQTRANS_IDLE) {
    PQclear(PQexec(c.conn, "ROLLBACK"));
  }
}

}  // namespace veribind::postgres
