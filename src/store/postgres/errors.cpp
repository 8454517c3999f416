// PostgresStore's error mapping (errors.hpp).
#include "store/postgres/errors.hpp"

#include <string>
#include <utility>

namespace veribind::postgres {
namespace {

constexpr std::string_view kPrefix = "postgres store: ";

std::string first_line(const char* text) {
  if (text == nullptr) return {};
  std::string line(text);
  return line.substr(0, line.find('\n'));
}

}  // namespace

Status store_error(std::string_view operation, std::string_view why) {
  std::string message(kPrefix);
  message.append(operation);
  message.append(": ");
  message.append(why);
  return {ErrorCode::kStoreError, std::move(message)};
}

Status unexpected_shape(std::string_view operation) {
  return store_error(operation, "unexpected result shape");
}

Status connection_error(std::string_view operation, PGconn* conn) {
  std::string message(kPrefix);
  message.append(operation);
  message.append(" failed: the database server is unreachable: ");
  std::string why = conn != nullptr ? first_line(PQerrorMessage(conn)) : "out of memory";
  if (why.empty()) why = "connection lost";
  message.append(why);
  return {ErrorCode::kUnavailable, std::move(message)};
}

Status result_error(std::string_view operation, PGconn* conn, const PGresult* result) {
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  if (state == nullptr || PQstatus(conn) != CONNECTION_OK) {
    return connection_error(operation, conn);
  }
  const std::string_view sqlstate(state);
  const std::string_view category = sqlstate.substr(0, 2);
  std::string_view why = "the server refused the operation";
  ErrorCode code = ErrorCode::kStoreError;
  if (sqlstate == "57014") {
    why = "the statement timed out (statement_timeout)";
    code = ErrorCode::kUnavailable;
  } else if (category == "57") {
    why = "the server is shutting down or refused the session";
    code = ErrorCode::kUnavailable;
  } else if (category == "08") {
    why = "connection failure";
    code = ErrorCode::kUnavailable;
  } else if (category == "53") {
    why = "the server is out of resources";
    code = ErrorCode::kUnavailable;
  } else if (category == "40" || sqlstate == "55P03") {
    why = "a serialisation failure, deadlock or lock timeout";
    code = ErrorCode::kUnavailable;
  } else if (category == "58") {
    why = "a system error on the server";
    code = ErrorCode::kUnavailable;
  } else if (category == "23") {
    why = "a constraint was violated";
  } else if (category == "42") {
    why = "the schema does not match this version of veribind";
  }
  std::string message(kPrefix);
  message.append(operation);
  message.append(" failed: ");
  message.append(why);
  message.append(" (SQLSTATE ");
  message.append(sqlstate);
  message.append(")");
  return {code, std::move(message)};
}

}  // namespace veribind::postgres
