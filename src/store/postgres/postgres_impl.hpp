// PostgresStore's state, shared by its operation files (verification.cpp, accounts.cpp,
// audit.cpp, retention.cpp): the pool, and the helpers every operation uses.
#pragma once

#include <memory>
#include <string_view>

#include "store/postgres/errors.hpp"
#include "store/postgres/pool.hpp"
#include "store/postgres/statements.hpp"
#include "store/postgres/wire.hpp"
#include "veribind/postgres_store.hpp"

namespace veribind {

struct PostgresStore::Impl {
  std::unique_ptr<postgres::Pool> pool;
};

namespace postgres {

inline PgResult run_prepared(PGconn* conn, Stmt which, const Params& params) {
  return PgResult(PQexecPrepared(conn, statement(which).name, params.count(), params.values(),
                                 params.lengths(), params.formats(), 1));
}

}  // namespace postgres
}  // namespace veribind
