// AccountStore: the durable bindings between accounts and verified identifiers, used by the
// Registry only.
//
// Contract for every backend (tests/store/account_contract.hpp checks it against each):
// - Identifiers arrive as blind indexes with their key version; account ids are the embedding
//   backend's own opaque ids; a sealed contact is ciphertext opaque to the store.
// - Every operation is one atomic step, isolated across threads, processes and nodes; a failed
//   operation changes nothing. Durable at commit: a binding reported made survives an OS crash or
//   power loss.
// - Bindings never expire: they are owned by their account until delete_bindings.
// - Failures are values: kStoreError, or kUnavailable when the backend cannot be reached.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "veribind/blind_index.hpp"
#include "veribind/clock.hpp"
#include "veribind/identifier.hpp"
#include "veribind/result.hpp"

namespace veribind {

// A binding between an account and a verified identifier.
struct BindingRecord {
  std::string account_id;
  BlindIndex index;
  Channel channel = Channel::kPhone;
  Timestamp created_at{};
  // The contact, sealed by the Registry (LinkPolicy::retain_contact = kSealed); empty when none
  // is retained. Opaque to the store: ciphertext whose data key lives in a ContactKeyStore.
  std::vector<std::uint8_t> sealed_contact;
};

// Where a listing of bindings resumes: after the binding (account_id, channel), in that order.
struct BindingCursor {
  std::string account_id;  // empty: from the start
  Channel channel = Channel::kPhone;
};

enum class BindOutcome : std::uint8_t {
  kBound,
  kIdentifierFull,     // the identifier already holds max_accounts accounts
  kAccountHasBinding,  // the account already has a binding on this channel
};

class AccountStore {
 public:
  virtual ~AccountStore() = default;

  // Inserts the binding unless the identifier already holds `max_accounts` accounts, counted
  // over binding.index and every index in `same_identifier` (the blind indexes of the same
  // identifier under other key versions, so that a binding made under an old version still
  // counts), or the account already has a binding on the same channel. The check and the insert
  // are one atomic step.
  virtual Result<BindOutcome> insert_binding(const BindingRecord& binding,
                                             std::span<const BlindIndex> same_identifier,
                                             std::uint32_t max_accounts) = 0;

  // Account ids bound to `index` (exact match, including key version), oldest first.
  virtual Result<std::vector<std::string>> find_accounts(const BlindIndex& index) = 0;

  // Every binding of the account, sealed contact included, ordered by channel.
  virtual Result<std::vector<BindingRecord>> bindings_of_account(std::string_view account_id) = 0;

  // Removes every binding of the account; returns how many.
  virtual Result<std::size_t> delete_bindings(std::string_view account_id) = 0;

  // Up to `limit` bindings whose index has key version `key_version`, ordered by (account_id,
  // channel) and strictly after `after`: a batch for re-indexing.
  virtual Result<std::vector<BindingRecord>> bindings_with_key_version(std::uint32_t key_version,
                                                                       const BindingCursor& after,
                                                                       std::size_t limit) = 0;

  // Atomically: if the account's binding on `channel` still has index `from`, replaces its index
  // with `to` and its sealed contact with `sealed_contact` (empty: none). false if the binding is
  // gone or has another index by now (nothing changed).
  virtual Result<bool> reindex_binding(std::string_view account_id, Channel channel,
                                       const BlindIndex& from, const BlindIndex& to,
                                       std::span<const std::uint8_t> sealed_contact) = 0;

  // How many bindings have an index of key version `key_version`.
  virtual Result<std::size_t> count_bindings(std::uint32_t key_version) = 0;
};

}  // namespace veribind
