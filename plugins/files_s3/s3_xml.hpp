/// @file
/// The little XML the S3 plugin reads and writes: text of named elements in responses (ListObjectsV2, Error,
/// DeleteObjects results) and the escaped keys of a DeleteObjects request. S3 answers flat, namespace-free
/// documents in a fixed shape, so a tag scanner is enough; no DTDs, no entities beyond the predefined five and
/// numeric references.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace happy::plugin::files_s3::xml {

/// Text of every `<tag>…</tag>` in document order (entity references decoded). Elements are matched by exact
/// name, so `Key` does not match `KeyCount`; an element with attributes (`<tag a="b">`) matches too.
std::vector<std::string> texts(std::string_view doc, std::string_view tag);
/// The first text of `<tag>`, or "" when absent.
std::string text(std::string_view doc, std::string_view tag);
/// How many `<tag>` elements (with or without content) the document has.
std::size_t count(std::string_view doc, std::string_view tag);
/// Escapes & < > " ' for element text.
std::string escape(std::string_view s);

}  // namespace happy::plugin::files_s3::xml
