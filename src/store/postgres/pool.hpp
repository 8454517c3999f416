// PostgresStore's connections: a small pool, each connection used by one thread at a time (a
// mutex and a condition variable hand them out). A connection that broke, or that the server
// closed while it sat idle in the pool (a restart), is replaced on its next use.
//
// Durability. Every connection runs with synchronous_commit = off (unless
// PostgresOptions::sync_every_commit): run() is for verification state, whose commits do not
// wait for the WAL flush. run_durable() is for account and audit writes: one transaction whose
// commit does wait (SET LOCAL synchronous_commit to the server's own level, or on where the
// server's is off).
#pragma once

#include <libpq-fe.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "veribind/postgres_store.hpp"
#include "veribind/result.hpp"

namespace veribind::postgres {

class Pool {
 public:
  struct Connection {
    PGconn* conn = nullptr;
    // The BEGIN of a durable transaction on this connection (a SET LOCAL of synchronous_commit
    // when the session's level does not already wait for the flush).
    std::string begin_durable = "BEGIN";
    Connection() = default;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection() { drop(); }
    void drop() {
      if (conn != nullptr) PQfinish(conn);
      conn = nullptr;
    }
  };

  // Validates the options, connects one connection (migrating the schema on it), and leaves the
  // rest of the pool to connect on demand. Errors as PostgresStore::open.
  static Result<std::unique_ptr<Pool>> open(const std::string& conninfo,
                                            const PostgresOptions& options);
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
  ~Pool();

  // Runs `body(PGconn*)` (returning Result<T> or Status) on a connection of the pool, each
  // statement its own transaction.
  template <typename Body>
  auto run(std::string_view operation, Body body) -> decltype(body(nullptr)) {
    Lease lease(*this);
    if (Status s = lease.acquire(operation); !s) return s;
    return body(lease.connection().conn);
  }

  // Runs `body(PGconn*)` inside one transaction that commits synchronously if the body
  // succeeds, and rolls back if it fails. A body that refuses without writing succeeds.
  template <typename Body>
  auto run_durable(std::string_view operation, Body body) -> decltype(body(nullptr)) {
    return transaction(operation, true, body);
  }

  // The same, committed as verification state is (asynchronously unless sync_every_commit): for
  // the rare operation on verification state that needs more than one statement.
  template <typename Body>
  auto run_transaction(std::string_view operation, Body body) -> decltype(body(nullptr)) {
    return transaction(operation, false, body);
  }

 private:
  // A connection taken from the pool, usable (reconnected if it was not), given back when the
  // lease ends.
  class Lease {
   public:
    explicit Lease(Pool& pool) : pool_(pool) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();
    Status acquire(std::string_view operation);
    [[nodiscard]] Connection& connection() const { return *c_; }

   private:
    Pool& pool_;
    Connection* c_ = nullptr;
  };

  template <typename Body>
  auto transaction(std::string_view operation, bool durable, Body& body)
      -> decltype(body(nullptr)) {
    Lease lease(*this);
    if (Status s = lease.acquire(operation); !s) return s;
    Connection& c = lease.connection();
    if (Status s = begin(operation, c, durable); !s) return s;
    auto result = body(c.conn);
    if (!result) {
      rollback(c);
      return result;
    }
    if (Status s = commit(operation, c); !s) return s;
    return result;
  }

  Pool() = default;
  // Opens `c` anew: connect, session settings, (with migrate_first) migrations, prepared
  // statements.
  Status connect(Connection& c, std::string_view operation, bool migrate_first = false);
  static Status begin(std::string_view operation, Connection& c, bool durable);
  static Status commit(std::string_view operation, Connection& c);
  static void rollback(Connection& c);

  PostgresOptions options_;
  // Connection parameters for PQconnectdbParams: our defaults first, the caller's conninfo last
  // (expanded), so that its settings win.
  std::vector<std::string> keywords_;
  std::vector<std::string> values_;
  std::string session_setup_;  // SET ... run on every new connection

  std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<Connection>> connections_;
  std::vector<Connection*> idle_;
};

}  // namespace veribind::postgres
