#include "delivery/internal/template_file.hpp"

#include <set>

namespace veribind::internal {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

Status at_line(int line, std::string_view what) {
  std::string message = "line ";
  message += std::to_string(line);
  message += ": ";
  message += what;
  return {ErrorCode::kConfigFileInvalid, std::move(message)};
}

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::size_t len = b < 0x80             ? 1
                      : (b & 0xE0) == 0xC0 ? 2
                      : (b & 0xF0) == 0xE0 ? 3
                      : (b & 0xF8) == 0xF0 ? 4
                                           : 0;
    if (len == 0 || (len == 2 && b < 0xC2) || i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += len;
  }
  return true;
}

}  // namespace

Result<std::vector<TemplateEntry>> parse_template_file(std::string_view content) {
  std::vector<TemplateEntry> entries;
  std::set<std::string, std::less<>> seen;
  int line_number = 0;
  while (!content.empty()) {
    ++line_number;
    const std::size_t end = content.find('\n');
    std::string_view line = trim(content.substr(0, end));
    content.remove_prefix(end == std::string_view::npos ? content.size() : end + 1);
    if (line.empty() || line.front() == '#') continue;
    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) return at_line(line_number, "expected key = value");
    const std::string_view key = trim(line.substr(0, eq));
    const std::string_view raw = trim(line.substr(eq + 1));
    if (key.empty()) return at_line(line_number, "empty key");
    if (seen.contains(key)) return at_line(line_number, "key given twice");
    if (!valid_utf8(raw)) return at_line(line_number, "value is not valid UTF-8");
    std::string value;
    value.reserve(raw.size());
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] != '\\') {
        value += raw[i];
        continue;
      }
      if (i + 1 == raw.size()) return at_line(line_number, "a backslash ends the value");
      const char next = raw[++i];
      if (next == 'n') {
        value += '\n';
      } else if (next == '\\') {
        value += '\\';
      } else {
        return at_line(line_number, "unknown escape (only \\n and \\\\)");
      }
    }
    seen.emplace(key);
    entries.push_back({std::string(key), std::move(value), line_number});
  }
  return entries;
}

}  // namespace veribind::internal
