// PostgreSQL for tests: the server that ctest's pg_start fixture runs (scripts/pg-test-server.sh
// writes its conninfo to VERIBIND_PG_STATE_DIR/conninfo), a schema of its own for every store a
// test opens (so tests running in parallel never see each other's rows), and a plain libpq
// connection to look at what is stored the way an operator with psql would.
//
// There is no skipping: a test that finds no server fails.
#pragma once

#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "veribind/postgres_store.hpp"

#ifndef VERIBIND_PG_STATE_DIR
#error "VERIBIND_PG_STATE_DIR must name the directory where pg_start writes conninfo"
#endif

namespace veribind::testing {

inline std::string pg_conninfo() {
  std::ifstream in(VERIBIND_PG_STATE_DIR "/conninfo");
  std::string line;
  std::getline(in, line);
  INFO("no PostgreSQL test server: " VERIBIND_PG_STATE_DIR
       "/conninfo is missing. Run the tests through ctest, whose pg_start fixture starts one "
       "(scripts/pg-test-server.sh).");
  REQUIRE_FALSE(line.empty());
  return line;
}

// A schema name no other test process or test case uses.
inline std::string new_schema_name() {
  static std::atomic<unsigned> counter{0};
  return "vbt_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
}

// A libpq connection of our own. Failures are test failures (REQUIRE), except in drop_schema,
// which runs from destructors.
class RawPg {
 public:
  explicit RawPg(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str())) {
    INFO(PQerrorMessage(conn_));
    REQUIRE(PQstatus(conn_) == CONNECTION_OK);
    PQsetNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);
  }
  RawPg(const RawPg&) = delete;
  RawPg& operator=(const RawPg&) = delete;
  ~RawPg() { PQfinish(conn_); }

  void exec(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    const ExecStatusType status = PQresultStatus(r);
    INFO(sql << ": " << PQresultErrorMessage(r));
    PQclear(r);
    REQUIRE((status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK));
  }

  // Every row's first column, as text ("" for NULL).
  std::vector<std::string> column(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    INFO(sql << ": " << PQresultErrorMessage(r));
    const bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    std::vector<std::string> rows;
    if (ok) {
      for (int i = 0; i < PQntuples(r); ++i) rows.emplace_back(PQgetvalue(r, i, 0));
    }
    PQclear(r);
    REQUIRE(ok);
    return rows;
  }

  bool try_exec(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    return ok;
  }

 private:
  PGconn* conn_;
};

// A database of a test's own on the test server (`prefix` and the process id), made fresh and
// dropped at the end; url() is its connection string.
class TestDatabase {
 public:
  explicit TestDatabase(const std::string& prefix)
      : base_(pg_conninfo()), name_(prefix + "_" + std::to_string(::getpid())) {
    RawPg admin(base_);
    admin.exec("DROP DATABASE IF EXISTS " + name_);
    admin.exec("CREATE DATABASE " + name_);
    const std::size_t slash = base_.rfind('/');
    REQUIRE(slash != std::string::npos);
    url_ = base_.substr(0, slash + 1) + name_;
  }
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;
  ~TestDatabase() {
    PGconn* conn = PQconnectdb(base_.c_str());
    if (PQstatus(conn) == CONNECTION_OK) {
      PQclear(PQexec(conn, ("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)").c_str()));
    }
    PQfinish(conn);
  }
  [[nodiscard]] const std::string& url() const { return url_; }

 private:
  std::string base_;
  std::string name_;
  std::string url_;
};

inline void drop_schema(const std::string& conninfo, const std::string& schema) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  if (PQstatus(conn) == CONNECTION_OK) {
    PQsetNoticeProcessor(
        conn, [](void*, const char*) {}, nullptr);
    PQclear(PQexec(conn, ("DROP SCHEMA IF EXISTS \"" + schema + "\" CASCADE").c_str()));
  }
  PQfinish(conn);
}

inline std::unique_ptr<PostgresStore> open_pg(const std::string& conninfo,
                                              PostgresOptions options) {
  auto opened = PostgresStore::open(conninfo, options);
  INFO(opened.status().message());
  REQUIRE(opened.is_ok());
  return std::move(*opened);
}

// A new store in a new schema, dropped with everything in it when the fixture goes.
struct PgFixture {
  std::string conninfo;
  PostgresOptions options;
  std::unique_ptr<PostgresStore> store;

  PgFixture() = default;
  PgFixture(PgFixture&& other) noexcept
      : conninfo(std::move(other.conninfo)),
        options(std::move(other.options)),
        store(std::move(other.store)) {
    other.options.schema.clear();
  }
  PgFixture& operator=(PgFixture&&) = delete;
  PgFixture(const PgFixture&) = delete;
  PgFixture& operator=(const PgFixture&) = delete;
  ~PgFixture() {
    store.reset();
    if (!options.schema.empty()) drop_schema(conninfo, options.schema);
  }
  PostgresStore& operator*() const { return *store; }
  [[nodiscard]] const std::string& schema() const { return options.schema; }
  // Another store (as another node would open) on the same schema.
  [[nodiscard]] std::unique_ptr<PostgresStore> open_another() const {
    return open_pg(conninfo, options);
  }
};

inline PgFixture fresh_postgres_store(PostgresOptions options = {}) {
  PgFixture fixture;
  fixture.conninfo = pg_conninfo();
  options.schema = new_schema_name();
  fixture.options = options;
  fixture.store = open_pg(fixture.conninfo, fixture.options);
  return fixture;
}

}  // namespace veribind::testing
