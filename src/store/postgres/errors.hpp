// How PostgresStore reports failures. Errors the server reports are classified by SQLSTATE:
// connection, resource, shutdown, timeout and serialisation failures are kUnavailable (a retry,
// or an operator, may fix them); the rest is kStoreError. Messages name the operation and the
// SQLSTATE, never the server's message text (which can quote values) nor the conninfo (which can
// hold a password).
#pragma once

#include <libpq-fe.h>

#include <string_view>

#include "veribind/result.hpp"

namespace veribind::postgres {

// kStoreError: "postgres store: <operation>: <why>".
Status store_error(std::string_view operation, std::string_view why);

// kUnavailable: the connection is gone or never came up. libpq's first line says why (refused,
// timed out, closed by the server); it names hosts and ports, never values or passwords.
Status connection_error(std::string_view operation, PGconn* conn);

// What a failed result means: no SQLSTATE, or a connection that is no longer OK, is
// connection_error; otherwise the SQLSTATE class decides.
Status result_error(std::string_view operation, PGconn* conn, const PGresult* result);

// A result that is not the shape the statement returns.
Status unexpected_shape(std::string_view operation);

}  // namespace veribind::postgres
