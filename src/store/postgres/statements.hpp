// The SQL PostgresStore runs: one prepared statement per operation (statements.cpp), prepared on
// every connection right after it connects.
#pragma once

#include <libpq-fe.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace veribind::postgres {

enum Stmt : std::size_t {
  kCreateChallenge,
  kReissueChallenge,
  kAddToCounters,
  kReadCounters,
  kChargeAttempt,
  kConsumeChallenge,
  kFindChallenge,
  kPurgeExpired,
  kLiveChallenges,
  kLockIdentifiers,
  kInsertBinding,
  kFindAccounts,
  kBindingsOfAccount,
  kDeleteBindings,
  kBindingsWithKeyVersion,
  kReindexBinding,
  kCountBindings,
  kLockAudit,
  kAppendAudit,
  kScanAudit,
  kReadAuditHead,
  kReadAuditBinding,
  kRetentionStats,
  kStmtCount,
};

struct StatementDef {
  const char* name;
  std::string sql;
  std::vector<Oid> types;  // declared at prepare time, so the server never guesses
};

const StatementDef& statement(Stmt which);

// Result layout of kChargeAttempt: column 0 is true for a charged row (then the challenge's
// columns, kChallengeColumns, from column 1 on, and the failure count and its window end after
// them) and false for a miss (the challenge as it is, the failure columns NULL). No row: no such
// challenge.
inline constexpr int kChargeRecordColumn = 1;
inline constexpr int kChargeFailureColumn = 14;

// Result layout of the counter statements (kCreateChallenge, kReissueChallenge, kAddToCounters,
// kReadCounters): one row per counter that exists after its step, (step number from 1, count,
// window end), in step order; kReissueChallenge adds a row (0, challenges reissued, NULL), and
// kReadCounters a row (0, count, window end) for a live failure count.

}  // namespace veribind::postgres
