#include "core/http/router.hpp"

#include <cstdint>
#include <stdexcept>

#include <boost/json.hpp>

namespace happy::http {

namespace {

int hex_val(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/// Well-formed UTF-8 as decodeURIComponent requires it: no overlong forms, no surrogates, nothing above U+10FFFF.
bool valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            ++i;
            continue;
        }
        std::size_t n;
        unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
        if (c >= 0xC2 && c <= 0xDF) {
            n = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 3;
            lo = c == 0xE0 ? 0xA0 : 0x80;
            hi = c == 0xED ? 0x9F : 0xBF;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 4;
            lo = c == 0xF0 ? 0x90 : 0x80;
            hi = c == 0xF4 ? 0x8F : 0xBF;
        } else {
            return false;
        }
        if (i + n > s.size()) {
            return false;
        }
        auto c1 = static_cast<unsigned char>(s[i + 1]);
        if (c1 < lo || c1 > hi) {
            return false;
        }
        for (std::size_t k = 2; k < n; ++k) {
            if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) {
                return false;
            }
        }
        i += n;
    }
    return true;
}

/// JavaScript String.length of UTF-8 text: code points above U+FFFF count twice (surrogate pairs).
std::size_t utf16_length(std::string_view s) {
    std::size_t n = 0;
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        if ((c & 0xC0) != 0x80) {
            n += c >= 0xF0 ? 2 : 1;
        }
    }
    return n;
}

std::vector<std::string_view> split_path(std::string_view p) {
    std::vector<std::string_view> out;
    // p starts with '/'; "/a//b/" → ["a", "", "b", ""]
    std::size_t start = 1;
    while (true) {
        std::size_t slash = p.find('/', start);
        if (slash == std::string_view::npos) {
            out.push_back(p.substr(start));
            break;
        }
        out.push_back(p.substr(start, slash - start));
        start = slash + 1;
    }
    return out;
}

/// One key or value the way fast-querystring (find-my-way's parser, used by fastify) decodes it: '+' becomes a
/// space, then decodeURIComponent; when that fails (malformed escape, invalid UTF-8) the text is kept undecoded.
std::string qs_decode(std::string_view s) {
    std::string plus(s);
    for (auto& c : plus) {
        if (c == '+') {
            c = ' ';
        }
    }
    auto dec = percent_decode(plus);
    return dec ? std::move(*dec) : plus;
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view s) {
    if (s.find('%') == std::string_view::npos) {
        return std::string(s);
    }
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%') {
            if (i + 2 >= s.size()) {
                return std::nullopt;
            }
            int h = hex_val(s[i + 1]), l = hex_val(s[i + 2]);
            if (h < 0 || l < 0) {
                return std::nullopt;
            }
            out.push_back(static_cast<char>(h * 16 + l));
            i += 2;
        } else {
            out.push_back(s[i]);
        }
    }
    if (!valid_utf8(out)) {
        return std::nullopt;
    }
    return out;
}

boost::json::object parse_query(std::string_view qs) {
    boost::json::object out;
    std::size_t pos = 0;
    while (pos <= qs.size()) {
        std::size_t amp = qs.find('&', pos);
        std::string_view part = qs.substr(pos, amp == std::string_view::npos ? std::string_view::npos : amp - pos);
        if (!part.empty()) {
            std::size_t eq = part.find('=');
            std::string key = qs_decode(part.substr(0, eq));
            std::string val = eq == std::string_view::npos ? std::string() : qs_decode(part.substr(eq + 1));
            if (auto* existing = out.if_contains(key)) {
                if (existing->is_array()) {
                    existing->get_array().emplace_back(val);
                } else {
                    boost::json::array a;
                    a.emplace_back(std::move(*existing));
                    a.emplace_back(val);
                    *existing = std::move(a);
                }
            } else {
                out[key] = val;
            }
        }
        if (amp == std::string_view::npos) {
            break;
        }
        pos = amp + 1;
    }
    return out;
}

void router::add(route r) {
    compiled c;
    for (auto seg : split_path(r.path)) {
        if (!seg.empty() && seg[0] == ':') {
            c.segs.push_back({segment::kind::param, std::string(seg.substr(1))});
        } else if (seg == "*") {
            c.segs.push_back({segment::kind::wildcard, "*"});
        } else {
            c.segs.push_back({segment::kind::literal, std::string(seg)});
        }
    }
    if (c.segs.size() > max_segments) {
        throw std::invalid_argument("route has too many segments: " + r.path);
    }
    c.wildcard = !c.segs.empty() && c.segs.back().k == segment::kind::wildcard;
    // Specificity: per segment, literal > param > wildcard, the first difference deciding (a route that is a
    // prefix of another ranks lower). Packed two bits per segment from the top so integers compare the same way.
    for (std::size_t k = 0; k < c.segs.size(); ++k) {
        std::uint64_t rank = c.segs[k].k == segment::kind::literal ? 3 : c.segs[k].k == segment::kind::param ? 2 : 1;
        c.score |= rank << (62 - 2 * k);
    }
    routes_.push_back(std::move(r));
    compiled_.push_back(std::move(c));
}

router::match router::find(verb method, std::string_view path) const {
    // Every route starts with '/'; so does every path split_path() can take apart. A target such as "?v1/" has an
    // empty path (found by tests/fuzz/http_fuzz.cpp: it threw from the body-too-large answer).
    if (!path.starts_with('/')) {
        return {};
    }
    verb want = method == verb::head ? verb::get : method;
    auto parts = split_path(path);
    match best;
    std::uint64_t best_score = 0;
    for (std::size_t i = 0; i < routes_.size(); ++i) {
        const auto& c = compiled_[i];
        // Cheap rejections first (method, segment count, literals, rank): parameters are only decoded for a route
        // that would beat the best so far. A wildcard needs at least one segment of its own ("/files" does not
        // reach the "/files/" prefix of "/files/*").
        if (routes_[i].method != want || (c.wildcard ? parts.size() < c.segs.size() : parts.size() != c.segs.size()) ||
            (best.r && c.score <= best_score)) {
            continue;
        }
        bool literals = true;
        for (std::size_t k = 0; k < c.segs.size() && literals; ++k) {
            literals = c.segs[k].k != segment::kind::literal || parts[k] == c.segs[k].text;
        }
        if (!literals) {
            continue;
        }
        match m;
        bool ok = true;
        for (std::size_t k = 0; k < c.segs.size() && ok; ++k) {
            const auto& s = c.segs[k];
            if (s.k == segment::kind::wildcard) {
                // The rest of the raw path (unlimited length), decoded.
                std::size_t off = 0;
                for (std::size_t j = 0; j < k; ++j) {
                    off += parts[j].size() + 1;
                }
                std::string_view rest = path.substr(1 + off);
                auto dec = percent_decode(rest);
                if (!dec) {
                    m.bad_url = true;
                }
                m.params.emplace_back("*", dec ? *dec : std::string(rest));
            } else if (s.k == segment::kind::param) {
                auto dec = percent_decode(parts[k]);
                if (!dec) {
                    m.bad_url = true;
                    dec = std::string(parts[k]);
                }
                if (utf16_length(*dec) > max_param_length) {
                    ok = false;  // find-my-way's maxParamLength: the route does not match
                    break;
                }
                m.params.emplace_back(s.text, std::move(*dec));
            }
        }
        if (ok) {
            m.r = &routes_[i];
            best = std::move(m);
            best_score = c.score;
        }
    }
    return best;
}

}  // namespace happy::http
