// PostgresStore: opening and closing. The operations live in verification.cpp, accounts.cpp,
// audit.cpp and retention.cpp; connections in pool.cpp; the SQL in statements.cpp; the schema in
// schema.cpp.
#include "store/postgres/postgres_impl.hpp"

namespace veribind {

PostgresStore::PostgresStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PostgresStore::~PostgresStore() = default;

Result<std::unique_ptr<PostgresStore>> PostgresStore::open(const std::string& conninfo,
                                                           const PostgresOptions& options) {
  auto pool = postgres::Pool::open(conninfo, options);
  if (!pool) return pool.status();
  auto impl = std::make_unique<Impl>();
  impl->pool = std::move(*pool);
  return std::unique_ptr<PostgresStore>(new PostgresStore(std::move(impl)));
}

}  // namespace veribind
