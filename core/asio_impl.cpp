/// @file
/// The one translation unit that compiles Boost.Asio and Boost.Beast (separate compilation keeps every
/// other file from instantiating them again; the build machine has two cores).
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>  // the TLS listener (core/http/tls.hpp) and the outbound client
#include <boost/beast/src.hpp>
