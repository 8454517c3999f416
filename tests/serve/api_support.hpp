// An Api over a MemoryStore, a fake clock, a fixed key ring and a recording sender, with two API
// keys (one per scope): what the API tests call handle() on.
#pragma once

#include <catch2/catch.hpp>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "fakes/fake_clock.hpp"
#include "fakes/keys.hpp"
#include "fakes/recording_sender.hpp"
#include "serve/api.hpp"
#include "serve/api_metrics.hpp"
#include "veribind/memory_store.hpp"

namespace veribind::testing {

inline constexpr const char* kVerifyKey = "Bearer test-verify-key";
inline constexpr const char* kOperatorKey = "Bearer test-operator-key";
inline constexpr const char* kPhone = "+923001234567";
inline constexpr const char* kOtherPhone = "+923001234568";
inline constexpr const char* kEmail = "alice@example.com";

inline std::optional<serve::Caller> test_keys(std::string_view header) {
  if (header == kVerifyKey) return serve::Caller{"k-verify", serve::ApiScope::kVerify};
  if (header == kOperatorKey) return serve::Caller{"k-operator", serve::ApiScope::kOperator};
  return std::nullopt;
}

struct ApiHarness {
  explicit ApiHarness(VerifierConfig config = {}, serve::DemoSettings demo = {},
                      serve::TrustedProxies proxies = {}, Sender* sender_instead = nullptr,
                      std::uint32_t key_versions = 1, serve::ServedChannels channels = {})
      : stores(std::make_unique<MemoryStore>(), std::unique_ptr<SqliteContactKeyStore>()) {
    for (std::uint32_t v = 2; v <= key_versions; ++v) {
      REQUIRE(ring.add_version(SecretBytes::random(KeyRing::kMasterKeyBytes), v));
    }
    Sender& used = sender_instead != nullptr               ? *sender_instead
                   : demo.enabled && demo.codes != nullptr ? static_cast<Sender&>(*demo.codes)
                                                           : static_cast<Sender&>(sender);
    verifier.emplace(Verifier::create(config, ring, stores.verification(), used, clock).value());
    phone.emplace(stores.registry(LinkPolicy::phone_linked(), ring, clock).value());
    email.emplace(stores.registry(LinkPolicy::email_linked(), ring, clock).value());
    api.emplace(serve::ApiServices{.verifier = *verifier,
                                   .phone_registry = *phone,
                                   .email_registry = *email,
                                   .stores = stores,
                                   .ring = ring,
                                   .clock = clock,
                                   .metrics = metrics,
                                   .authenticate = test_keys,
                                   .default_policy = "phone-linked",
                                   .trusted_proxies = std::move(proxies),
                                   .demo = std::move(demo),
                                   .channels = channels});
  }

  serve::HttpReply request(std::string method, std::string target, std::string body,
                           std::string authorization, std::string content_type = "application/json",
                           std::string peer = {}, std::string forwarded_for = {}) {
    serve::HttpRequest r;
    r.method = std::move(method);
    r.target = std::move(target);
    r.body = std::move(body);
    r.authorization = std::move(authorization);
    r.content_type = std::move(content_type);
    r.peer = peer.empty() ? default_peer : std::move(peer);
    r.forwarded_for = std::move(forwarded_for);
    r.host = host;
    return api->handle(r);
  }
  serve::HttpReply post(std::string target, const nlohmann::json& body,
                        std::string authorization = kVerifyKey) {
    return request("POST", std::move(target), body.dump(), std::move(authorization));
  }
  serve::HttpReply post_raw(std::string target, std::string body,
                            std::string authorization = kVerifyKey) {
    return request("POST", std::move(target), std::move(body), std::move(authorization));
  }
  serve::HttpReply get(std::string target, std::string authorization = kOperatorKey) {
    return request("GET", std::move(target), {}, std::move(authorization), {});
  }

  // Starts a verification by SMS (or email) and returns its id.
  std::string start(const std::string& to = kPhone, const std::string& channel = "sms",
                    const std::string& prefix = "/v1") {
    const serve::HttpReply reply =
        post(prefix + "/verifications", {{"to", to}, {"channel", channel}});
    return nlohmann::json::parse(reply.body).value("id", std::string());
  }

  // Rows of `kind` in the store's retention report.
  std::uint64_t rows(std::string_view kind) {
    const auto stats = stores.retention().retention_stats(clock.now());
    for (const RowKindStats& s : stats.value()) {
      if (s.kind == kind) return s.rows;
    }
    return 0;
  }

  // Where requests come from and the Host they name, unless a request says otherwise: a client
  // beyond loopback by default; the demo tests use "127.0.0.1" and "localhost".
  std::string default_peer = "192.0.2.10";
  std::string host = "api.example.com";

  FakeClock clock;
  KeyRing ring = random_ring();
  cli::Stores stores;
  RecordingSender sender;
  std::optional<Verifier> verifier;
  std::optional<Registry> phone;
  std::optional<Registry> email;
  serve::ApiMetrics metrics;
  std::optional<serve::Api> api;
};

inline nlohmann::json body_of(const serve::HttpReply& reply) {
  return nlohmann::json::parse(reply.body);
}
inline std::string error_code_of(const serve::HttpReply& reply) {
  return body_of(reply)["error"]["code"].get<std::string>();
}

}  // namespace veribind::testing
