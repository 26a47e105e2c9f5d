/*
 * policyjson.c: the JSON reader of policyjson.h. It validates the whole text
 * as Go's encoding/json does, without recursion: nested containers are kept
 * on a bit stack, so a deeply nested policy cannot overflow the wasm stack.
 */
#include "policyjson.h"

#include <string.h>

/* MAX_DEPTH is encoding/json's nesting limit. */
#define MAX_DEPTH 10000

/* KEY is the top-level key whose value is the interval. */
static const char KEY[] = "reset_interval_ms";

typedef struct scanner {
    const unsigned char *s;
    size_t n, i;
    /* containers: bit d is set when the container at level d (from 1) is an object */
    unsigned char objects[MAX_DEPTH / 8 + 1];
} scanner;

static int peek(const scanner *sc) { return sc->i < sc->n ? sc->s[sc->i] : 0; }

static void ws(scanner *sc) {
    while (sc->i < sc->n) {
        switch (sc->s[sc->i]) {
        case ' ':
        case '\t':
        case '\n':
        case '\r':
            sc->i++;
            break;
        default:
            return;
        }
    }
}

static bool hex4(scanner *sc, unsigned *r) {
    if (sc->n - sc->i < 4)
        return false;
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        unsigned char c = sc->s[sc->i + k];
        if (c >= '0' && c <= '9')
            c -= '0';
        else if (c >= 'a' && c <= 'f')
            c -= 'a' - 10;
        else if (c >= 'A' && c <= 'F')
            c -= 'A' - 10;
        else
            return false;
        v = v << 4 | c;
    }
    sc->i += 4;
    *r = v;
    return true;
}

/*
 * str skips the string at sc->i (its opening quote) and reports whether it
 * was valid. *is_key is set when its unescaped text is exactly KEY: KEY is
 * ASCII, so any byte or escape outside ASCII (even one that decodes to
 * U+FFFD) rules a match out.
 */
static bool str(scanner *sc, bool *is_key) {
    size_t k = 0; /* bytes of KEY matched so far */
    bool match = true;
    sc->i++; /* '"' */
    while (sc->i < sc->n) {
        unsigned c = sc->s[sc->i++];
        if (c == '"') {
            *is_key = match && k == sizeof KEY - 1;
            return true;
        }
        if (c < 0x20)
            return false;
        if (c == '\\') {
            if (sc->i >= sc->n)
                return false;
            unsigned e = sc->s[sc->i++];
            switch (e) {
            case '"':
            case '\\':
            case '/':
                c = e;
                break;
            case 'b':
                c = '\b';
                break;
            case 'f':
                c = '\f';
                break;
            case 'n':
                c = '\n';
                break;
            case 'r':
                c = '\r';
                break;
            case 't':
                c = '\t';
                break;
            case 'u':
                if (!hex4(sc, &c))
                    return false;
                break;
            default:
                return false;
            }
        }
        if (c >= 0x80 || k >= sizeof KEY - 1 || (unsigned char)KEY[k] != c)
            match = false;
        k++;
    }
    return false;
}

static bool digits(scanner *sc) {
    size_t start = sc->i;
    while (sc->i < sc->n && sc->s[sc->i] >= '0' && sc->s[sc->i] <= '9')
        sc->i++;
    return sc->i > start;
}

/* number skips -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool number(scanner *sc) {
    if (peek(sc) == '-')
        sc->i++;
    int c = peek(sc);
    if (c == '0')
        sc->i++;
    else if (c >= '1' && c <= '9')
        digits(sc);
    else
        return false;
    if (peek(sc) == '.') {
        sc->i++;
        if (!digits(sc))
            return false;
    }
    c = peek(sc);
    if (c == 'e' || c == 'E') {
        sc->i++;
        c = peek(sc);
        if (c == '+' || c == '-')
            sc->i++;
        if (!digits(sc))
            return false;
    }
    return true;
}

static bool literal(scanner *sc) {
    static const char *const lits[] = {"true", "false", "null"};
    for (size_t k = 0; k < 3; k++) {
        size_t len = strlen(lits[k]);
        if (sc->n - sc->i >= len && memcmp(sc->s + sc->i, lits[k], len) == 0) {
            sc->i += len;
            return true;
        }
    }
    return false;
}

static bool is_object(const scanner *sc, int level) { return sc->objects[level / 8] >> (level % 8) & 1; }

static void set_kind(scanner *sc, int level, bool object) {
    if (object)
        sc->objects[level / 8] |= (unsigned char)(1u << (level % 8));
    else
        sc->objects[level / 8] &= (unsigned char)~(1u << (level % 8));
}

/*
 * value skips one value inside a container at level base (1 for a member
 * of the top-level object), containers nested in it included, and reports
 * whether it was valid.
 */
static bool value(scanner *sc, int base) {
    int level = base;
    bool is_key;
    for (;;) {
        /* A value is expected at sc->i. */
        int c = peek(sc);
        if (c == '{' || c == '[') {
            if (level + 1 > MAX_DEPTH)
                return false;
            level++;
            set_kind(sc, level, c == '{');
            sc->i++;
            ws(sc);
            if (peek(sc) == (c == '{' ? '}' : ']')) {
                sc->i++;
                level--;
            } else if (c == '{') {
                goto member;
            } else {
                continue; /* the first element */
            }
        } else if (c == '"') {
            if (!str(sc, &is_key))
                return false;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            if (!number(sc))
                return false;
        } else if (!literal(sc)) {
            return false;
        }

        /* A value ended: close containers until one goes on, or the value is done. */
        for (;;) {
            if (level == base)
                return true;
            ws(sc);
            bool obj = is_object(sc, level);
            c = peek(sc);
            if (c == ',') {
                sc->i++;
                if (obj)
                    goto member;
                ws(sc);
                break; /* the next element */
            }
            if (c != (obj ? '}' : ']'))
                return false;
            sc->i++;
            level--;
        }
        continue;

    member:
        /* An object member ("key": value) is expected, after '{' or ','. */
        ws(sc);
        if (peek(sc) != '"' || !str(sc, &is_key))
            return false;
        ws(sc);
        if (peek(sc) != ':')
            return false;
        sc->i++;
        ws(sc);
    }
}

bool policy_parse_int(const char *s, size_t len, int64_t *out) {
    size_t i = 0;
    bool neg = false;
    if (len > 0 && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        i++;
    }
    if (i == len)
        return false;
    /* Accumulate the magnitude; -2^63 is one more than INT64_MAX. */
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t v = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (limit - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

int64_t policy_reset_interval(const char *policy, size_t len) {
    scanner sc = {.s = (const unsigned char *)policy, .n = len};

    ws(&sc);
    if (peek(&sc) != '{')
        return 0; /* null, an array, a scalar or nothing: no top-level key */
    sc.i++;
    size_t raw = 0, raw_len = 0;
    bool found = false;
    ws(&sc);
    if (peek(&sc) == '}') {
        sc.i++;
    } else {
        for (;;) {
            bool is_key;
            ws(&sc);
            if (peek(&sc) != '"' || !str(&sc, &is_key))
                return 0;
            ws(&sc);
            if (peek(&sc) != ':')
                return 0;
            sc.i++;
            ws(&sc);
            size_t start = sc.i;
            if (!value(&sc, 1))
                return 0;
            if (is_key) {
                found = true;
                raw = start;
                raw_len = sc.i - start;
            }
            ws(&sc);
            int c = peek(&sc);
            sc.i++;
            if (c == '}')
                break;
            if (c != ',')
                return 0;
        }
    }
    ws(&sc);
    if (sc.i != sc.n || !found)
        return 0;
    int64_t v;
    return policy_parse_int(policy + raw, raw_len, &v) ? v : 0;
}
