// veribind.toml: the one configuration file of the CLI (and of the server).
//
// Read from --config FILE, or from ./veribind.toml when that exists. Every key is known: an unknown
// key, a value of the wrong type or out of range is refused with the file's name and line, and
// nothing runs. Secrets are never inline: a provider's password, webhook secret or API token is a
// path to a file (an inline `password` is refused with a message that says so). Relative paths
// are taken from the directory that holds the file, so that the file means the same thing
// wherever the command runs. A command-line option given explicitly wins over the file.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "serve/http_server.hpp"
#include "veribind/policy.hpp"
#include "veribind/result.hpp"
#include "veribind/verifier.hpp"

namespace veribind::cli {

// One delivery provider: [delivery.email], [delivery.sms], or one of their [[...fallback]] entries
// (tried in order after the first).
struct ProviderSettings {
  std::string type;  // "smtp" (email); "webhook" or "twilio" (sms)
  std::string name;  // in events and logs; default: the type
  std::string url;   // smtp:// (STARTTLS required), smtps://; https:// (http:// only to loopback)
  std::string from;  // email: "Name <address>"; twilio: the sending number
  std::string ca_file;
  std::string username;       // smtp AUTH
  std::string password_file;  // smtp AUTH
  std::string secret_file;    // webhook: the signing key, the file's bytes
  std::string account_sid;    // twilio
  std::string auth_token_file;
  std::string messaging_service_sid;  // twilio, instead of `from`
  bool allow_plaintext = false;       // smtp:// without TLS, to loopback only
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds response_timeout{10000};
  std::chrono::milliseconds total_timeout{30000};
  int line = 0;  // where the table starts, for errors found later
};

struct DeliverySettings {
  int workers = 2;
  std::size_t queue_capacity = 1024;
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::milliseconds max_backoff{30000};
  int max_attempts = 8;  // over all providers, per message
  // How long a CLI command waits for its message to be sent or given up before it exits.
  std::chrono::seconds wait{60};
  std::vector<ProviderSettings> email;  // failover order
  std::vector<ProviderSettings> sms;
};

struct TemplateFileSettings {
  std::string app_name = "veribind";
  std::string domain;            // WebOTP / iOS origin-bound last line when set
  std::string android_app_hash;  // SMS Retriever hash, after the origin-bound line
  bool code_in_subject = false;
  std::string dir;           // more locales, one file each (see templates.hpp)
  int max_sms_segments = 1;  // a template needing more is refused: every segment is paid for
};

// [server]: `veribind serve`.
struct ServerFileSettings {
  std::string listen = "127.0.0.1:8080";  // see serve::ListenAddress
  serve::ServerLimits limits;  // threads, max_connections, max_header_bytes, max_body_bytes, *_ms
  std::chrono::seconds drain{10};  // SIGTERM: requests in flight, then the outbox
  std::string api_keys;            // the API keys file; default ./veribind-api-keys
  // Proxies whose X-Forwarded-For is believed: IP addresses or CIDR blocks ("10.0.0.0/8").
  std::vector<std::string> trusted_proxies;
  std::string tls_cert_file;  // both or neither
  std::string tls_key_file;
  int line = 0;
};

struct FileConfig {
  std::string path;  // the file read
  // [store]
  std::optional<std::string> db;
  std::optional<std::string> key_file;
  std::optional<std::string> contact_keys;
  // [verifier]: the library's defaults for what the file leaves out.
  VerifierConfig verifier;
  // [policy]
  std::optional<std::string> policy;  // "phone-linked" / "email-linked"
  // [delivery]; absent: the development console sender, which says that nothing was sent.
  std::optional<DeliverySettings> delivery;
  // [templates]
  TemplateFileSettings templates;
  // [server]; absent: every default.
  std::optional<ServerFileSettings> server;
};

// Reads and validates the file. kConfigFileInvalid with "FILE:LINE: what is wrong" (a value is
// never repeated: it may be a secret typed in by mistake); kUnavailable if it cannot be read.
// The verifier and policy sections are validated as the library would (VerifierConfig::validate).
[[nodiscard]] Result<FileConfig> load_config_file(const std::string& path);

// The file a command uses: `explicit_path` if given (it must exist), else ./veribind.toml if it
// exists, else none (std::nullopt, and every default stays).
[[nodiscard]] Result<std::optional<FileConfig>> find_config(
    const std::optional<std::string>& explicit_path);

}  // namespace veribind::cli
