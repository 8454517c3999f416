// How an SQLite result code becomes a veribind Status, shared by the SQLite main store and the
// SQLite contact key store. The message names the backend and the operation, and carries
// sqlite3_errstr() (a fixed text per code, never the statement or its values).
#pragma once

#include <sqlite3.h>

#include <string>
#include <string_view>

#include "veribind/result.hpp"

namespace veribind::internal {

// Busy, locked, unopenable, full, read-only, out of memory or failing I/O: the backend is (for
// now) unusable and a retry, or an operator, may fix it. Anything else (constraint, corrupt, not a
// database, ...) is a refused operation.
inline ErrorCode sqlite_error_code(int rc) noexcept {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_NOMEM:
    case SQLITE_PROTOCOL: return ErrorCode::kUnavailable;
    default: return ErrorCode::kStoreError;
  }
}

// "<backend>: <operation> failed: <sqlite's text for rc>".
inline Status sqlite_status(std::string_view backend, std::string_view operation, int rc) {
  std::string message(backend);
  message.append(": ");
  message.append(operation);
  message.append(" failed: ");
  message.append(sqlite3_errstr(rc));
  return {sqlite_error_code(rc), std::move(message)};
}

}  // namespace veribind::internal
