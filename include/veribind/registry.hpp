// Registry: bindings between the embedding backend's account ids and verified identifiers,
// under one LinkPolicy. Only blind indexes are stored, and, when the policy seals contacts,
// ciphertext whose keys live in a separate ContactKeyStore.
//
// Key rotation. The Registry holds a blind-index key for every version in the ring. New bindings
// are made under the current (highest) version; find() and the uniqueness rule of link() look
// under every version, so an identifier bound under version 1 still counts after version 2 is
// added. Bindings move to the current version by rotate() (sealed ones: their contact is opened
// to compute the new index) or by refresh() when their owner next verifies (the others: only the
// owner's verification brings the identifier back).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "veribind/account_store.hpp"
#include "veribind/audit.hpp"
#include "veribind/audit_store.hpp"
#include "veribind/blind_index.hpp"
#include "veribind/clock.hpp"
#include "veribind/contact_key_store.hpp"
#include "veribind/identifier.hpp"
#include "veribind/keys.hpp"
#include "veribind/policy.hpp"
#include "veribind/result.hpp"
#include "veribind/verifier.hpp"

namespace veribind {

// Why a sealed contact is read. Nothing else may read one: there is deliberately no purpose for
// marketing, analytics or bulk export.
enum class SecurityPurpose : std::uint8_t {
  kRecovery = 1,        // help the owner back into the account
  kSecurityNotice = 2,  // tell the owner about a security event on the account
};
// "recovery" / "security_notice"; nullopt for anything else.
[[nodiscard]] std::string_view security_purpose_name(SecurityPurpose purpose) noexcept;
[[nodiscard]] std::optional<SecurityPurpose> security_purpose_from_name(
    std::string_view name) noexcept;

// What Registry::rotate() did.
struct RotationReport {
  std::size_t data_keys_rewrapped = 0;  // wrapped again under the current version
  std::size_t sealed_reindexed = 0;     // sealed bindings moved to the current version
  // Unsealed bindings still under an older version: they move when their owner next verifies
  // (refresh), or go when the account is erased.
  std::size_t awaiting_verification = 0;
  // Sealed bindings whose data key is gone (an erasure interrupted before its bindings went):
  // they stay where they are until erase() is run again for their account, in
  // EraseMode::kFinishInterrupted.
  std::size_t sealed_unreadable = 0;
};

// What Registry::erase() requires of the contact key store.
enum class EraseMode : std::uint8_t {
  // Every sealed binding's data key must be in the key store (kContactKeyMissing otherwise, and
  // nothing changes). The mode for every ordinary erasure.
  kKeysPresent = 1,
  // Finishes an erasure that was interrupted after some or all of its data keys were destroyed:
  // the keys still present are destroyed, a missing one is not an error, then the bindings go.
  // Use it only when the key store given is known to be the right one (a wrong one makes this
  // report an erasure while the real key store still holds the keys).
  kFinishInterrupted = 2,
};

// What Registry::erase() did.
struct Erasure {
  std::size_t bindings_removed = 0;
  // The data keys are deleted, but copies of them remain in the key store's live files until the
  // readers that hold them back close (ContactKeyStore::erased_copies_remain): the contacts are
  // not yet shredded against someone who can read those files. Running erase() again later (for
  // any account) retries the clean-up and reports false once it completed.
  bool key_copies_remain = false;
};

// The answer to a lawful request, given only once its audit entry is committed.
struct Disclosure {
  std::vector<std::string> accounts;  // bound to exactly the identifier asked about, oldest first
  std::uint64_t audit_sequence = 0;   // the audit log entry that records this answer
  BlindIndex index;                   // what the entry records instead of the identifier
};

// What still uses one key version: retire it only when total() is 0.
struct KeyUsage {
  std::size_t bindings = 0;    // bindings indexed under it
  std::size_t challenges = 0;  // live challenges started under it (they expire by themselves)
  std::size_t data_keys = 0;   // data keys wrapped under it (0 without a contact key store)
  // Audit log entries (and the head) MACed under it: retiring the version would leave them
  // unverifiable, so the log keeps its version in use.
  std::size_t audit_entries = 0;
  [[nodiscard]] std::size_t total() const noexcept {
    return bindings + challenges + data_keys + audit_entries;
  }
};

class Registry {
 public:
  // Longest account id accepted; account ids are 1..128 bytes of printable ASCII.
  static constexpr std::size_t kMaxAccountIdBytes = 128;

  // Validates `policy` (kInvalidConfig) and derives the blind-index key (kKeyUnavailable).
  // Bindings go to `accounts`, the lawful-lookup log to `audit` (one backend may be both).
  // `accounts`, `audit` and `clock` are not owned and must outlive the Registry.
  static Result<Registry> create(LinkPolicy policy, const KeyRing& ring, AccountStore& accounts,
                                 AuditStore& audit, const Clock& clock);
  // The same, with the store of contact data keys (not owned; must outlive the Registry). Needed
  // when policy.retain_contact is kSealed (kInvalidConfig without it), and by erase(), rotate()
  // and contact() for accounts whose contact was sealed.
  static Result<Registry> create(LinkPolicy policy, const KeyRing& ring, AccountStore& accounts,
                                 AuditStore& audit, const Clock& clock,
                                 ContactKeyStore& contact_keys);

  // Binds `account_id` to the verified identifier. The proof is taken by value, so it is spent
  // whatever the outcome: a refused link needs a new verification. Errors, each leaving the store
  // unchanged: kInvalidAccountId, kAccountIdPersonalData (validate_account_id); kVerificationSpent
  // (a proof that was moved from); kWrongChannel (not the policy's channel); kWrongPurpose (only
  // signup and change-identifier verifications may link); kEmailFormMismatch (the email was not
  // parsed with policy().email_options before start()); kPhoneTypeNotAllowed; kRegionNotAllowed;
  // kAlreadyBound (the identifier holds max_accounts_per_identifier accounts);
  // kAccountHasBinding (the account is already bound on this channel: unlink first); store errors.
  // Needs no identifier only while the ring holds one key version and the policy seals nothing:
  // otherwise kIdentifierRequired (use the overload below), nothing stored.
  Status link(std::string_view account_id, VerifiedIdentifier verified);

  // link(), given also the identifier that was verified (the caller still holds what the user
  // typed). It must be the very identifier of the proof: kIdentifierMismatch otherwise, nothing
  // stored. The binding is made under the current key version, and the uniqueness rule counts
  // bindings of the identifier under every version. With retain_contact = kSealed, its canonical
  // form is sealed into the binding (a new data key goes to the ContactKeyStore).
  Status link(std::string_view account_id, VerifiedIdentifier verified,
              const Identifier& identifier);

  // Re-indexes the bindings of `identifier` made under older key versions to the current one,
  // on proof that its owner verified it just now (any purpose: a login does). kIdentifierMismatch
  // if `identifier` is not the proof's; kVerificationSpent; kWrongChannel. Returns how many
  // bindings moved (0 when all are current). Store errors.
  Result<std::size_t> refresh(const Identifier& identifier, VerifiedIdentifier verified);

  // The sealed contact of the account's binding on the policy's channel, for `purpose`, one
  // account per call (there is no bulk read). Errors: kInvalidAccountId, kAccountIdPersonalData;
  // kNotASecurityPurpose
  // (anything but kRecovery or kSecurityNotice); kNoContact (no binding, or no contact sealed);
  // kInvalidConfig (no ContactKeyStore); kKeyUnavailable (the data key is gone, i.e. erased, or
  // its key version is retired); kContactSealBroken (ciphertext or wrapped key tampered with);
  // store errors.
  Result<Identifier> contact(std::string_view account_id, SecurityPurpose purpose);

  // Erasure: destroys the data keys of the account's sealed contacts (crypto-shredding: every
  // copy of their ciphertext, backups of the main store included, becomes unreadable), then
  // removes every binding of the account. Returns the bindings removed. Keys go first, so no key
  // is ever left without its binding's pointer; if the second step fails, run erase() again in
  // EraseMode::kFinishInterrupted. Before anything is destroyed, every sealed binding's data key
  // must be in this registry's ContactKeyStore (in the default mode): a key that is not there is
  // not destroyed by this call, so reporting the account erased would be false (the usual cause
  // is a wrong key store, whose "not found" would otherwise read as success). The account id's
  // form is checked (validate_account_id_form), not the personal-data rule: erasing an id stored
  // before that rule is how it goes. Errors, each changing nothing: kInvalidAccountId;
  // kInvalidConfig if a binding is sealed and there is no ContactKeyStore; kContactKeyMissing if
  // a sealed binding's data key is not in it; store errors (except that a store error while the
  // keys go leaves the keys destroyed so far destroyed: finish with kFinishInterrupted). With a
  // ContactKeyStore, the result also says whether copies of erased keys remain in its live files.
  Result<Erasure> erase(std::string_view account_id, EraseMode mode = EraseMode::kKeysPresent);

  // Moves everything that can move to the current key version, in batches of `batch`: re-wraps
  // data keys wrapped under older versions, and re-indexes sealed bindings (opening each contact
  // to compute its new index and sealing it again under the new binding's associated data).
  // Unsealed bindings cannot move without their owner (see refresh) and are counted. Safe to
  // interrupt and run again. Errors: kInvalidArgument (batch 0), the first failure met (store
  // errors, kContactSealBroken); what moved before it stays moved.
  Result<RotationReport> rotate(std::size_t batch = 500);

  // What still uses `key_version`: bindings, wrapped data keys and audit entries here, and the
  // live challenges of `verifier`.
  Result<KeyUsage> key_version_usage(std::uint32_t key_version, Verifier& verifier);

  // The refusals link() would make that do not depend on who else holds the identifier: an
  // invalid account id (either code of validate_account_id), or a wrong channel, purpose, phone
  // type, region or email form for the challenge `challenge_id` of `verifier` checked for
  // `purpose`. Call it before Verifier::check() so that a good code is not spent on a link that
  // cannot succeed. It deliberately never answers kAlreadyBound: whether an identifier is bound is
  // told only to someone who has proved control of it with a code. Reads the store, changes
  // nothing; an unknown, expired or locked challenge is ok here (check() gives it the uniform
  // answer). Errors: those above, kInvalidChallengeId, store errors.
  Status preflight(std::string_view account_id, Verifier& verifier, std::string_view challenge_id,
                   Purpose purpose);

  // Account ids bound to exactly this identifier (empty if none). An email is canonicalised with
  // the policy's email options first, so any spelling the policy merges finds the binding;
  // kEmailFormMismatch for an email parsed with provider canonicalization when the policy has
  // none (the typed form is gone). Store errors.
  Result<std::vector<std::string>> find(const Identifier& identifier);

  // Removes every binding of the account; returns how many. The same operation as erase() in
  // EraseMode::kKeysPresent: a sealed contact's data key goes with its binding, and must be in
  // the key store. kInvalidAccountId, kInvalidConfig, kContactKeyMissing, store errors, each
  // changing nothing. It does not say whether copies of erased keys remain in the key store's
  // live files: erase() does.
  Result<std::size_t> unlink(std::string_view account_id);

  // Answers a lawful request: the account ids bound to exactly this identifier (the same lookup
  // as find(), under every active key version), and nothing else: there is no bulk or
  // partial-match form. Each answer appends one entry to the audit log (veribind/audit.hpp): the
  // time, the request fields, the blind index (current key version), and how many accounts were
  // returned. The entry is committed before the answer is returned; if it cannot be, there is no
  // answer. Errors, each appending nothing: kInvalidLegalRequest / kInputTooLong /
  // kLegalRequestPersonalData (LegalRequest::validate), kEmailFormMismatch (as find()), store
  // errors (kUnavailable also when concurrent appends keep winning the race).
  Result<Disclosure> disclose(const Identifier& identifier, const LegalRequest& request);

  [[nodiscard]] const LinkPolicy& policy() const noexcept { return policy_; }

  // The account-id rule link(), preflight() and contact() apply. Lets a caller refuse a bad id
  // before a check() consumes a good code. Errors: kInvalidAccountId (not 1..128 bytes of
  // printable ASCII without spaces); kAccountIdPersonalData (it holds something that parses as
  // an email address, or as a phone number in international form: '+' or "00" and a number
  // libphonenumber accepts; a bare run of digits such as "1234567890" is accepted). Account ids
  // are stored in the clear, so an identifier in one would sit beside its own blind index.
  // SECURITY.md says how it is detected and what it misses.
  [[nodiscard]] static Status validate_account_id(std::string_view account_id);
  // The form alone (kInvalidAccountId), without the personal-data rule: what erase() and unlink()
  // apply, so that an id stored before that rule existed can still be erased.
  [[nodiscard]] static Status validate_account_id_form(std::string_view account_id);

 private:
  Registry(LinkPolicy policy, std::vector<BlindIndexer> indexers, AccountStore& accounts,
           AuditStore& audit, const Clock& clock);
  static Result<Registry> make(LinkPolicy policy, const KeyRing& ring, AccountStore& accounts,
                               AuditStore& audit, const Clock& clock,
                               ContactKeyStore* contact_keys);
  [[nodiscard]] const BlindIndexer& current() const noexcept { return indexers_.back(); }
  [[nodiscard]] const BlindIndexer* indexer_for(std::uint32_t version) const noexcept;
  [[nodiscard]] const SecretBytes* kek_for(std::uint32_t version) const noexcept;
  // ok if `identifier` has the blind index `proven` under its key version; kIdentifierMismatch.
  [[nodiscard]] Status matches(const Identifier& identifier, const BlindIndex& proven) const;
  // The canonical identifier a registry lookup uses (provider rules applied late if needed).
  Result<Identifier> canonical_for_policy(const Identifier& identifier) const;
  // The data key of `binding`'s sealed contact, from the key store, unwrapped: the one way to it.
  Result<SecretBytes> unwrap_contact_key(const BindingRecord& binding);
  // Opens the sealed contact of `binding`: its data key, then the seal.
  Result<SecretBytes> open_sealed(const BindingRecord& binding);
  // Moves `binding` to `to` (sealing its contact again, if any, under the new associated data).
  Result<bool> move_binding(const BindingRecord& binding, const BlindIndex& to);
  // The policy's verdict on one verification's attributes; ok when it may link.
  [[nodiscard]] Status policy_refusal(Channel channel, Purpose purpose, PhoneType phone_type,
                                      std::string_view region, bool provider_canonical) const;
  LinkPolicy policy_;
  std::vector<BlindIndexer> indexers_;  // one per key version, ascending; back() is current
  std::vector<std::pair<std::uint32_t, SecretBytes>> keks_;  // contact-seal subkeys by version
  AccountStore* accounts_;
  AuditStore* audit_;
  const Clock* clock_;
  ContactKeyStore* contact_keys_ = nullptr;
  SecretBytes audit_key_;  // KeyPurpose::kAuditChain of the ring's current version
  std::uint32_t audit_key_version_ = 0;
  // The one lookup behind find() and disclose(): the blind index under the current key version
  // and the accounts bound to the identifier under every active version.
  struct Lookup {
    BlindIndex index;
    std::vector<std::string> accounts;
  };
  Result<Lookup> lookup(const Identifier& identifier);
};

}  // namespace veribind
