// Provider secrets (an SMTP password, a webhook key, a Twilio auth token) live in files, never in
// configuration text; this reads one with the same rules as a key file.
#pragma once

#include <string>
#include <string_view>

#include "veribind/result.hpp"
#include "veribind/secret.hpp"

namespace veribind::internal {

enum class TrailingNewline : bool { kKeep, kStrip };

// Reads the whole file at `path` (at most 64 KiB) into a SecretText. With kStrip one trailing
// "\n" or "\r\n" is removed, since editors add one to a password file. Errors, each naming
// `field` and never the contents: kInvalidConfig (missing, unreadable, not a regular file, a
// symbolic link, empty, too large), kKeyFileInsecure (group or others may read or write it).
Result<SecretText> read_secret_file(const std::string& path, std::string_view field,
                                    TrailingNewline newline);

}  // namespace veribind::internal
