// PostgresStore's schema: the tables and their migrations (schema.cpp).
#pragma once

#include <libpq-fe.h>

#include <string>

#include "veribind/result.hpp"

namespace veribind::postgres {

// Brings the schema of `conn`'s search_path (creating `schema` first when it is not empty) up to
// PostgresStore::kSchemaVersion. An up-to-date database is only read (no lock, no write).
// Otherwise every missing migration runs in one transaction holding the migration lock, and the
// version is read again under the lock: another node may have migrated meanwhile.
// kStoreError for a newer schema version or a migration the server refuses.
Status migrate(PGconn* conn, const std::string& schema);

}  // namespace veribind::postgres
