#include "veribind/registry.hpp"

#include <algorithm>
#include <utility>

#include "internal/audit_chain.hpp"

namespace veribind {

Status Registry::validate_account_id(std::string_view account_id) {
  if (account_id.empty() || account_id.size() > Registry::kMaxAccountIdBytes) {
    return {ErrorCode::kInvalidAccountId, "account id must be 1..128 bytes"};
  }
  const bool printable = std::all_of(account_id.begin(), account_id.end(),
                                     [](char c) { return c > 0x20 && c < 0x7f; });
  if (!printable) {
    return {ErrorCode::kInvalidAccountId, "account id must be printable ASCII without spaces"};
  }
  return Status::ok();
}

Status Registry::policy_refusal(Channel channel, Purpose purpose, PhoneType phone_type,
                                std::string_view region, bool provider_canonical) const {
  if (channel != policy_.channel) {
    return {ErrorCode::kWrongChannel, "the " + policy_.name + " policy binds accounts to " +
                                          std::string(channel_name(policy_.channel)) +
                                          " identifiers only"};
  }
  if (purpose != Purpose::kSignup && purpose != Purpose::kChangeIdentifier) {
    return {ErrorCode::kWrongPurpose,
            "only a signup or change-identifier verification can link an account"};
  }
  if (channel == Channel::kEmail &&
      provider_canonical != policy_.email_options.provider_canonicalization) {
    return {ErrorCode::kEmailFormMismatch,
            "the email was not parsed with this policy's email options before start()"};
  }
  if (channel == Channel::kPhone) {
    if (!policy_.allowed_phone_types.contains(phone_type)) {
      return {ErrorCode::kPhoneTypeNotAllowed, "the policy does not bind numbers of type " +
                                                   std::string(phone_type_name(phone_type))};
    }
    if (!policy_.allowed_regions.empty() &&
        std::find(policy_.allowed_regions.begin(), policy_.allowed_regions.end(), region) ==
            policy_.allowed_regions.end()) {
      return {ErrorCode::kRegionNotAllowed, "the policy does not bind numbers of that region"};
    }
  }
  return Status::ok();
}

Status Registry::preflight(std::string_view account_id, std::string_view challenge_id,
                           Purpose purpose) {
  if (Status s = validate_account_id(account_id); !s) return s;
  auto id = ChallengeId::parse(challenge_id);
  if (!id) return id.status();
  auto found = store_->find_challenge(*id);
  if (!found) return found.status();
  // A challenge that check() would refuse anyway (unknown, expired, locked) gets check()'s uniform
  // answer, not a policy verdict that would tell its holder that it is live.
  if (!found->has_value()) return Status::ok();
  const ChallengeRecord& r = **found;
  if (clock_->now() >= r.expires_at || r.attempts >= r.max_attempts) return Status::ok();
  return policy_refusal(r.channel, purpose, r.phone_type, {r.region.data(), r.region.size()},
                        r.provider_canonical);
}

Result<Registry> Registry::create(LinkPolicy policy, const KeyRing& ring, Store& store,
                                  const Clock& clock) {
  if (Status s = policy.validate(); !s) return s;
  auto indexer = BlindIndexer::create(ring);
  if (!indexer) return indexer.status();
  auto audit_key = ring.derive(KeyPurpose::kAuditChain, ring.current_version());
  if (!audit_key) return audit_key.status();
  Registry registry(std::move(policy), std::move(indexer).value(), store, clock);
  registry.audit_key_ = std::move(audit_key).value();
  registry.audit_key_version_ = ring.current_version();
  return registry;
}

Registry::Registry(LinkPolicy policy, BlindIndexer indexer, Store& store, const Clock& clock)
    : policy_(std::move(policy)), indexer_(std::move(indexer)), store_(&store), clock_(&clock) {}

Status Registry::link(std::string_view account_id, VerifiedIdentifier verified) {
  if (Status s = validate_account_id(account_id); !s) return s;
  if (verified.spent()) {
    return {ErrorCode::kVerificationSpent, "this verification was already used"};
  }
  if (Status s = policy_refusal(verified.channel(), verified.purpose(), verified.phone_type(),
                                verified.region(), verified.provider_canonical());
      !s) {
    return s;
  }
  BindingRecord binding{std::string(account_id), verified.index(), verified.channel(),
                        clock_->now()};
  auto outcome = store_->insert_binding(binding, policy_.max_accounts_per_identifier);
  if (!outcome) return outcome.status();
  switch (*outcome) {
    case BindOutcome::kBound: return Status::ok();
    case BindOutcome::kIdentifierFull:
      return {ErrorCode::kAlreadyBound,
              "this identifier is already bound to the maximum number of accounts"};
    case BindOutcome::kAccountHasBinding:
      return {ErrorCode::kAccountHasBinding,
              "the account is already bound to an identifier of this kind; unlink it first"};
  }
  return {ErrorCode::kInternal, "unexpected binding outcome"};
}

Result<Registry::Lookup> Registry::lookup(const Identifier& identifier) {
  const bool policy_canonical = policy_.email_options.provider_canonicalization;
  if (const EmailAddress* email = identifier.email();
      email != nullptr && email->provider_canonical() != policy_canonical) {
    // Canonicalization can be applied late, but not undone: the typed form is gone.
    if (!policy_canonical) {
      return Status(ErrorCode::kEmailFormMismatch,
                    "the email was parsed with provider canonicalization; this policy has none");
    }
    auto canonical = EmailAddress::parse(email->canonical(), policy_.email_options);
    if (!canonical) return canonical.status();
    return lookup(Identifier(std::move(canonical).value()));
  }
  Lookup found{indexer_.compute(identifier), {}};
  auto accounts = store_->find_accounts(found.index);
  if (!accounts) return accounts.status();
  found.accounts = std::move(accounts).value();
  return found;
}

Result<std::vector<std::string>> Registry::find(const Identifier& identifier) {
  auto found = lookup(identifier);
  if (!found) return found.status();
  return std::move(found->accounts);
}

// The lookup happens first and its answer stays in this frame until the entry recording it,
// with the number of accounts actually returned, is committed. A failed append returns the error
// and drops the answer: nothing leaves the library unaudited. Appending before the lookup would
// not know the count; doing both in one store transaction would tie the lookup to one index and
// one backend call, where lookup() may consult several key versions.
Result<Disclosure> Registry::disclose(const Identifier& identifier, const LegalRequest& request) {
  if (Status s = request.validate(); !s) return s;
  auto found = lookup(identifier);
  if (!found) return found.status();
  AuditRecord entry;
  entry.time = clock_->now();
  entry.authority = request.authority;
  entry.reference = request.reference;
  entry.legal_basis = request.legal_basis;
  entry.requested_by = request.requested_by;
  entry.index = found->index;
  entry.channel = identifier.channel();
  entry.accounts_returned = static_cast<std::uint32_t>(found->accounts.size());
  auto appended =
      internal::append_audit_entry(*store_, audit_key_, audit_key_version_, std::move(entry));
  if (!appended) return appended.status();
  return Disclosure{std::move(found->accounts), appended->sequence, found->index};
}

Result<std::size_t> Registry::unlink(std::string_view account_id) {
  if (Status s = validate_account_id(account_id); !s) return s;
  return store_->delete_bindings(account_id);
}

}  // namespace veribind
