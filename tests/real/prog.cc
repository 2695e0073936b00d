// A deterministic workout of the C++ standard library: templates, containers,
// <regex>, <thread>, exceptions. Prints the same lines on every run.
#include <algorithm>
#include <array>
#include <cstdint>
#include <exception>
#include <functional>
#include <iomanip>
#include <iostream>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <variant>
#include <vector>

namespace {

struct Lcg {
    std::uint64_t s;
    explicit Lcg(std::uint64_t seed) : s(seed) {}
    std::uint32_t next() {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        return static_cast<std::uint32_t>(s >> 33);
    }
};

std::uint64_t fnv(std::uint64_t h, const std::string &s) {
    for (unsigned char c : s) { h ^= c; h *= 1099511628211ULL; }
    return h;
}

template <typename... T> constexpr auto sum_all(T... v) { return (v + ... + 0); }

template <unsigned N> struct Fib { static constexpr std::uint64_t value = Fib<N - 1>::value + Fib<N - 2>::value; };
template <> struct Fib<1> { static constexpr std::uint64_t value = 1; };
template <> struct Fib<0> { static constexpr std::uint64_t value = 0; };

// A binary search tree of owned nodes, as a template over key and value.
template <typename K, typename V> class Tree {
    struct Node {
        K key; V val; std::unique_ptr<Node> l, r;
        Node(K k, V v) : key(std::move(k)), val(std::move(v)) {}
    };
    std::unique_ptr<Node> root_;
    std::size_t size_ = 0;
public:
    void put(const K &k, const V &v) {
        std::unique_ptr<Node> *p = &root_;
        while (*p) {
            if (k < (*p)->key) p = &(*p)->l;
            else if ((*p)->key < k) p = &(*p)->r;
            else { (*p)->val = v; return; }
        }
        *p = std::make_unique<Node>(k, v);
        ++size_;
    }
    template <typename F> void walk(F f) const {
        std::vector<const Node *> st;
        const Node *n = root_.get();
        while (n || !st.empty()) {
            while (n) { st.push_back(n); n = n->l.get(); }
            n = st.back(); st.pop_back();
            f(n->key, n->val);
            n = n->r.get();
        }
    }
    std::size_t size() const { return size_; }
};

struct ParseError : std::runtime_error {
    int line;
    ParseError(int l, const std::string &what) : std::runtime_error(what), line(l) {}
};

long parse_number(const std::string &s, int line) {
    if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos)
        throw ParseError(line, "not a number: '" + s + "'");
    return std::stol(s);
}

const char *const syl[] = {"ka", "lo", "mi", "nu", "pe", "ra", "si", "tu", "vo", "xe", "za", "bi"};

std::string word(Lcg &g, int parts) {
    std::string w;
    for (int i = 0; i < parts; ++i) w += syl[g.next() % 12];
    return w;
}

std::vector<std::string> make_lines(std::uint64_t seed, int n) {
    Lcg g(seed);
    std::vector<std::string> lines;
    lines.reserve(n);
    for (int i = 0; i < n; ++i) {
        std::ostringstream os;
        os << word(g, 1 + g.next() % 3) << "=" << g.next() % 100000;
        os << " id:" << i << " tag=" << word(g, 2);
        if (g.next() % 7 == 0) os << " bad=" << word(g, 1) << "x";
        else os << " n=" << g.next() % 1000;
        lines.push_back(os.str());
    }
    return lines;
}

struct Result {
    std::map<std::string, long> sums;
    std::set<std::string> tags;
    long errors = 0;
    std::uint64_t error_hash = 1469598103934665603ULL;
};

Result process(const std::vector<std::string> &lines, std::size_t from, std::size_t to) {
    static const std::regex kv(R"(([a-z]+)=([0-9a-z]+))");
    Result r;
    for (std::size_t i = from; i < to; ++i) {
        for (auto it = std::sregex_iterator(lines[i].begin(), lines[i].end(), kv); it != std::sregex_iterator(); ++it) {
            const std::smatch &m = *it;
            std::string key = m[1], val = m[2];
            if (key == "tag") { r.tags.insert(val); continue; }
            try {
                r.sums[key] += parse_number(val, static_cast<int>(i));
            } catch (const ParseError &e) {
                ++r.errors;
                r.error_hash = fnv(r.error_hash, std::to_string(e.line) + e.what());
            }
        }
    }
    return r;
}

using Shape = std::variant<std::pair<double, double>, double, std::array<double, 3>>;

double area(const Shape &s) {
    struct V {
        double operator()(const std::pair<double, double> &r) const { return r.first * r.second; }
        double operator()(double radius) const { return 3.0 * radius * radius; }
        double operator()(const std::array<double, 3> &t) const { return (t[0] + t[1] + t[2]) / 2.0; }
    };
    return std::visit(V{}, s);
}

} // namespace

int main() {
    const int nthreads = 4;
    const int nlines = 40000;
    auto lines = make_lines(2024, nlines);

    std::vector<Result> parts(nthreads);
    std::vector<std::exception_ptr> errs(nthreads);
    std::vector<std::thread> ts;
    for (int t = 0; t < nthreads; ++t) {
        ts.emplace_back([&, t] {
            try {
                std::size_t from = nlines / nthreads * t, to = t == nthreads - 1 ? nlines : nlines / nthreads * (t + 1);
                parts[t] = process(lines, from, to);
                if (t == 2) throw std::out_of_range("thread 2 finished and says so");
            } catch (...) {
                errs[t] = std::current_exception();
            }
        });
    }
    for (auto &th : ts) th.join();
    for (int t = 0; t < nthreads; ++t) {
        if (!errs[t]) continue;
        try { std::rethrow_exception(errs[t]); }
        catch (const std::out_of_range &e) { std::cout << "thread " << t << " threw: " << e.what() << "\n"; }
    }

    Result all;
    std::mutex mu;
    for (auto &p : parts) {
        std::lock_guard<std::mutex> lk(mu);
        for (auto &[k, v] : p.sums) all.sums[k] += v;
        all.tags.insert(p.tags.begin(), p.tags.end());
        all.errors += p.errors;
        all.error_hash ^= p.error_hash;
    }
    std::uint64_t h = 1469598103934665603ULL;
    for (auto &[k, v] : all.sums) h = fnv(h, k + ":" + std::to_string(v));
    std::cout << "keys " << all.sums.size() << " tags " << all.tags.size() << " parse errors " << all.errors
              << " hash " << std::hex << h << " errhash " << all.error_hash << std::dec << "\n";

    auto top = std::vector<std::pair<std::string, long>>(all.sums.begin(), all.sums.end());
    std::sort(top.begin(), top.end(), [](auto &a, auto &b) { return a.second != b.second ? a.second > b.second : a.first < b.first; });
    for (std::size_t i = 0; i < 5 && i < top.size(); ++i) std::cout << "top " << top[i].first << " " << top[i].second << "\n";

    Tree<std::string, std::list<int>> tree;
    Lcg g(7);
    for (int i = 0; i < 20000; ++i) {
        std::string k = word(g, 3);
        std::list<int> l(g.next() % 5, i);
        tree.put(k, l);
    }
    std::uint64_t th = 0; long cnt = 0;
    tree.walk([&](const std::string &k, const std::list<int> &l) { th = fnv(th, k); cnt += static_cast<long>(l.size()); });
    std::cout << "tree " << tree.size() << " nodes " << cnt << " items hash " << std::hex << th << std::dec << "\n";

    std::unordered_map<std::string, std::function<double(double)>> ops{
        {"sq", [](double x) { return x * x; }}, {"half", [](double x) { return x / 2; }}, {"neg", [](double x) { return -x; }}};
    std::vector<Shape> shapes{std::make_pair(2.0, 3.5), 1.5, std::array<double, 3>{3, 4, 5}};
    double total = 0;
    for (auto &s : shapes) total += ops.at("sq")(area(s));
    std::cout << std::fixed << std::setprecision(3) << "shapes " << total << "\n";
    try { ops.at("nope"); } catch (const std::out_of_range &) { std::cout << "no op 'nope'\n"; }

    std::string text;
    for (auto &l : lines) if (l.size() % 11 == 0) text += l + "\n";
    std::string replaced = std::regex_replace(text, std::regex(R"(id:(\d+))"), "#$1");
    std::cout << "replaced " << replaced.size() << " bytes hash " << std::hex << fnv(0, replaced) << std::dec << "\n";
    std::cout << "fib90 " << Fib<90>::value << " sum " << sum_all(1, 2, 3, 4, 5) << "\n";
    return 0;
}
