/// @file
/// A non-owning reference to a callable (like C++26 std::function_ref): no allocation, for callbacks that are
/// only invoked during the call they are passed to.
#pragma once

#include <type_traits>
#include <utility>

namespace happy::util {

template <class Sig>
class function_ref;

template <class R, class... Args>
class function_ref<R(Args...)> {
public:
    function_ref() = default;
    template <class F>
        requires(!std::is_same_v<std::remove_cvref_t<F>, function_ref> && std::is_invocable_r_v<R, F&, Args...>)
    function_ref(F&& f)  // NOLINT(google-explicit-constructor): used like std::function
        : obj_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
          call_([](void* o, Args... a) -> R {
              return (*static_cast<std::remove_reference_t<F>*>(o))(std::forward<Args>(a)...);
          }) {}
    explicit operator bool() const { return call_ != nullptr; }
    R operator()(Args... a) const { return call_(obj_, std::forward<Args>(a)...); }

private:
    void* obj_ = nullptr;
    R (*call_)(void*, Args...) = nullptr;
};

}  // namespace happy::util
