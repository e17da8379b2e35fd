/// @file
/// Request validation with upstream's (zod 4) semantics and exact English messages.
///
/// Upstream validates params, body, querystring and headers with zod schemas through
/// fastify-type-provider-zod; the 400 body lists every issue of the first failing part as
/// `<part><path> <message>`. Routes here declare the same shapes with these builders.
#pragma once
#include <boost/json/value.hpp>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace happy::validate {

struct issue {
    std::vector<std::string> path;  ///< segments; empty = the value itself
    std::string message;
};

class node {
public:
    enum class kind { string, number, boolean, object, array, record, any, enumeration, uuid };

    explicit node(kind k) : kind_(k) {}

    node optional() const { return with([](node& n) { n.optional_ = true; }); }
    node nullable() const { return with([](node& n) { n.nullable_ = true; }); }
    node nullish() const { return optional().nullable(); }
    /// zod `.default(v)`: an absent value becomes v (and is not validated further).
    node default_value(boost::json::value v) const {
        return with([&](node& n) {
            n.optional_ = true;
            n.default_ = std::move(v);
        });
    }
    /// Strings: length bounds in UTF-16 code units (JavaScript `length`). Numbers: value bounds. Arrays: item counts.
    node min(double v) const { return with([&](node& n) { n.min_ = v; }); }
    node max(double v) const { return with([&](node& n) { n.max_ = v; }); }
    /// Numbers: `.positive()` (exclusive minimum 0).
    node positive() const { return with([](node& n) { n.positive_ = true; }); }
    /// Numbers: `.int()`.
    node integer() const { return with([](node& n) { n.int_ = true; }); }
    /// Numbers: `z.coerce.number()` — JavaScript Number(x) applied to the input first (query strings).
    node coerce() const { return with([](node& n) { n.coerce_ = true; }); }
    /// Objects: a refinement run after the fields (zod `.refine`): skipped after a type error in a field, but run
    /// after bounds/length issues, seeing the field values parsed so far. It returns root-level issue messages.
    using refinement = std::vector<std::string> (*)(const boost::json::object&);
    node refine(refinement r) const { return with([&](node& n) { n.refine_ = r; }); }

    kind kind_;
    bool optional_ = false;
    bool nullable_ = false;
    bool positive_ = false;
    bool int_ = false;
    bool coerce_ = false;
    std::optional<boost::json::value> default_;
    std::optional<double> min_;
    std::optional<double> max_;
    std::vector<std::pair<std::string, node>> fields_;  // object
    std::shared_ptr<const node> element_;               // array items / record values
    std::vector<std::string> options_;                  // enumeration
    refinement refine_ = nullptr;

private:
    template <class F>
    node with(F&& f) const {
        node copy = *this;
        f(copy);
        return copy;
    }
};

node string();
node number();
node boolean();
node any();
node uuid();
node enumeration(std::vector<std::string> options);
node object(std::vector<std::pair<std::string, node>> fields);
node array(node element);
node record(node value);

/// Validates `in` (nullptr = undefined). On success returns the parsed output: unknown object keys stripped,
/// keys in schema order, defaults applied, coercions done. On failure appends issues in zod order.
std::optional<boost::json::value> parse(const node& schema, const boost::json::value* in, std::vector<issue>& issues);

/// Renders issues of one request part the way fastify-type-provider-zod does:
/// "body/publicKey Invalid input: expected string, received undefined, body/ …".
std::string format_issues(std::string_view part, const std::vector<issue>& issues);

/// JavaScript `Number(string)`: trims whitespace, "" → 0, hex/octal/binary prefixes, Infinity; NaN when invalid.
double js_number(std::string_view s);

/// zod's name for a value's type in "received <type>" (undefined, null, array, NaN, number, …).
std::string received_type(const boost::json::value* v);

}  // namespace happy::validate
