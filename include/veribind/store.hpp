// The store interfaces, split by the lifetime of what they keep, and the in-process backend:
//   VerificationStore  challenges, rate-limit counters, failure counts (ephemeral)  Verifier
//   AccountStore       bindings (durable)                                            Registry
//   AuditStore         the log of lawful lookups (append-only, durable)              Registry,
//   AuditLog RetentionReport    what is stored, per kind of row operators
// A backend may implement several (MemoryStore, SqliteStore and PostgresStore implement all
// four), and an application may mix backends.
#pragma once

#include "veribind/account_store.hpp"
#include "veribind/audit_store.hpp"
#include "veribind/memory_store.hpp"
#include "veribind/retention.hpp"
#include "veribind/verification_store.hpp"
