// Every statement a SqliteStore runs after open, by name. Each of its two connections prepares
// the ones it runs (kVerificationStatements, kAccountStatements) once, with
// SQLITE_PREPARE_PERSISTENT; the SQL text is in statements.cpp.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace veribind::sqlite {

enum class StmtId : std::uint8_t {
  // both connections
  kBeginImmediate,
  kBeginDeferred,
  kCommit,
  kRollback,
  // verification state
  kInsertChallenge,
  kChargeAttempt,
  kFindChallenge,
  kConsumeChallenge,
  kClearFailures,
  kReissueChallenge,
  kAddToCounter,
  kReadCounter,
  kReadFailures,
  kPurgeChallenges,
  kPurgeCounters,
  kPurgeFailures,
  kLiveChallenges,
  // bindings
  kAccountHasBinding,
  kCountHolders,
  kInsertBinding,
  kFindAccounts,
  kDeleteBindings,
  kBindingsOfAccount,
  kBindingsWithKeyVersion,
  kReindexBinding,
  kCountBindings,
  // audit log
  kAuditHeadCount,
  kInsertAudit,
  kUpsertAuditHead,
  kScanAudit,
  kReadAuditHead,
  kReadAuditBinding,
  kCount,
};

inline constexpr std::size_t kStmtCount = static_cast<std::size_t>(StmtId::kCount);

inline constexpr std::array kVerificationStatements{
    StmtId::kBeginImmediate,   StmtId::kBeginDeferred,    StmtId::kCommit,
    StmtId::kRollback,         StmtId::kInsertChallenge,  StmtId::kChargeAttempt,
    StmtId::kFindChallenge,    StmtId::kConsumeChallenge, StmtId::kClearFailures,
    StmtId::kReissueChallenge, StmtId::kAddToCounter,     StmtId::kReadCounter,
    StmtId::kReadFailures,     StmtId::kPurgeChallenges,  StmtId::kPurgeCounters,
    StmtId::kPurgeFailures,    StmtId::kLiveChallenges,
};

inline constexpr std::array kAccountStatements{
    StmtId::kBeginImmediate,
    StmtId::kBeginDeferred,
    StmtId::kCommit,
    StmtId::kRollback,
    StmtId::kAccountHasBinding,
    StmtId::kCountHolders,
    StmtId::kInsertBinding,
    StmtId::kFindAccounts,
    StmtId::kDeleteBindings,
    StmtId::kBindingsOfAccount,
    StmtId::kBindingsWithKeyVersion,
    StmtId::kReindexBinding,
    StmtId::kCountBindings,
    StmtId::kAuditHeadCount,
    StmtId::kInsertAudit,
    StmtId::kUpsertAuditHead,
    StmtId::kScanAudit,
    StmtId::kReadAuditHead,
    StmtId::kReadAuditBinding,
};

// The SQL text of `which`.
std::string statement_sql(StmtId which);

// Columns of kChargeAttempt's row after the challenge's (sql::kChallengeColumns): the failure
// count and its window end.
inline constexpr int kChargeFailureColumn = 13;

}  // namespace veribind::sqlite
