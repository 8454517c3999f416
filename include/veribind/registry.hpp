// Registry: bindings between the embedding backend's account ids and verified identifiers,
// under one LinkPolicy. Only blind indexes are stored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "veribind/audit.hpp"
#include "veribind/blind_index.hpp"
#include "veribind/clock.hpp"
#include "veribind/identifier.hpp"
#include "veribind/keys.hpp"
#include "veribind/policy.hpp"
#include "veribind/result.hpp"
#include "veribind/store.hpp"
#include "veribind/verifier.hpp"

namespace veribind {

// The answer to a lawful request, given only once its audit entry is committed.
struct Disclosure {
  std::vector<std::string> accounts;  // bound to exactly the identifier asked about, oldest first
  std::uint64_t audit_sequence = 0;   // the audit log entry that records this answer
  BlindIndex index;                   // what the entry records instead of the identifier
};

class Registry {
 public:
  // Longest account id accepted; account ids are 1..128 bytes of printable ASCII.
  static constexpr std::size_t kMaxAccountIdBytes = 128;

  // Validates `policy` (kInvalidConfig) and derives the blind-index key (kKeyUnavailable).
  // `store` and `clock` are not owned and must outlive the Registry.
  static Result<Registry> create(LinkPolicy policy, const KeyRing& ring, Store& store,
                                 const Clock& clock);

  // Binds `account_id` to the verified identifier. The proof is taken by value, so it is spent
  // whatever the outcome: a refused link needs a new verification. Errors, each leaving the store
  // unchanged: kInvalidAccountId; kVerificationSpent (a proof that was moved from);
  // kWrongChannel (not the policy's channel); kWrongPurpose (only signup and change-identifier
  // verifications may link); kEmailFormMismatch (the email was not parsed with
  // policy().email_options before start()); kPhoneTypeNotAllowed; kRegionNotAllowed;
  // kAlreadyBound (the identifier holds max_accounts_per_identifier accounts);
  // kAccountHasBinding (the account is already bound on this channel: unlink first); store errors.
  Status link(std::string_view account_id, VerifiedIdentifier verified);

  // The refusals link() would make that do not depend on who else holds the identifier: an
  // invalid account id, or a wrong channel, purpose, phone type, region or email form for the
  // challenge `challenge_id` checked for `purpose`. Call it before Verifier::check() so that a
  // good code is not spent on a link that cannot succeed. It deliberately never answers
  // kAlreadyBound: whether an identifier is bound is told only to someone who has proved control
  // of it with a code. Reads the store, changes nothing; an unknown, expired or locked challenge
  // is ok here (check() gives it the uniform answer). Errors: those above, kInvalidChallengeId,
  // store errors.
  Status preflight(std::string_view account_id, std::string_view challenge_id, Purpose purpose);

  // Account ids bound to exactly this identifier (empty if none). Not audited: it is for the
  // embedding backend's own flows (login, recovery); answers to outside requests go through
  // disclose(). An email is canonicalised with
  // the policy's email options first, so any spelling the policy merges finds the binding;
  // kEmailFormMismatch for an email parsed with provider canonicalization when the policy has
  // none (the typed form is gone). Store errors.
  Result<std::vector<std::string>> find(const Identifier& identifier);

  // Answers a lawful request: the account ids bound to exactly this identifier (the same lookup
  // as find()), and nothing else: there is no bulk or partial-match form. Each answer appends one
  // entry to the audit log (veribind/audit.hpp): the time, the request fields, the blind index and
  // its key version, and how many accounts were returned. The entry is committed before the
  // answer is returned; if it cannot be, there is no answer. Errors, each appending nothing:
  // kInvalidLegalRequest / kInputTooLong (LegalRequest::validate), kEmailFormMismatch (as
  // find()), store errors (kUnavailable also when concurrent appends keep winning the race).
  Result<Disclosure> disclose(const Identifier& identifier, const LegalRequest& request);

  // Removes every binding of the account; returns how many. kInvalidAccountId, store errors.
  Result<std::size_t> unlink(std::string_view account_id);

  [[nodiscard]] const LinkPolicy& policy() const noexcept { return policy_; }

  // The account-id rule link() and unlink() apply: kInvalidAccountId, or ok. Lets a caller refuse
  // a bad id before a check() consumes a good code.
  [[nodiscard]] static Status validate_account_id(std::string_view account_id);

 private:
  Registry(LinkPolicy policy, BlindIndexer indexer, Store& store, const Clock& clock);
  // The one lookup behind find() and disclose(): the blind index the policy gives `identifier`
  // (current key version) and the accounts bound to the identifier.
  struct Lookup {
    BlindIndex index;
    std::vector<std::string> accounts;
  };
  Result<Lookup> lookup(const Identifier& identifier);
  // The policy's verdict on one verification's attributes; ok when it may link.
  [[nodiscard]] Status policy_refusal(Channel channel, Purpose purpose, PhoneType phone_type,
                                      std::string_view region, bool provider_canonical) const;
  LinkPolicy policy_;
  BlindIndexer indexer_;
  Store* store_;
  const Clock* clock_;
  SecretBytes audit_key_;  // KeyPurpose::kAuditChain of the ring's current version
  std::uint32_t audit_key_version_ = 0;
};

}  // namespace veribind
