#!/usr/bin/env python3
"""Generates tests/unit/regex_cases.txt: the differential test of wirefault's
regex compiler (user/regex_*.c) against CPython's re module.

    python3 tests/unit/gen_regex_cases.py > tests/unit/regex_cases.txt

(`--seed N` makes a different file, for exploring; the committed one uses
the default seed.)

Deterministic (fixed seed), and pinned to Python 3.11: the expected answers
are re.search()'s, and \\w \\d \\s and case folding depend on the Unicode
version (14.0 in 3.11), which is also the one of user/unicode_props.c.  The
output is committed so that `make test-unit` needs no Python and cannot
drift with the Python version of the machine.

What it holds:
- every pattern of tests/conformance/commands.txt (onX keyword values as str
  patterns, matches() arguments as bytes patterns), each against a shared
  pool of subjects: samples of every corpus pattern, embedded in other text
  and mutated (case, one character dropped or changed, newline appended);
- random patterns of the supported grammar (str and bytes; flags, classes,
  categories, anchors, quantifiers, groups, alternation; ASCII, Latin,
  Greek, CJK and astral characters; case-folding traps like KELVIN SIGN and
  LONG S), each with sampled, mutated and random subjects;
- invalid patterns (random mutations) with Python's exact error message.

Format, one record per line, fields escaped (\\\\, \\n, \\r, \\t, \\xHH;
str fields keep other UTF-8 as is):
    D NAME              start subject pool NAME; then `d SUBJECT` lines
    P s|b PATTERN       a str or bytes pattern, then its expectations:
    U NAME BITS         re.search against every subject of pool NAME (1 = match)
    + SUBJECT / - SUBJECT   one subject that matches / does not match
    ! MESSAGE           re.compile raises this (str(exception))
"""
import ast
import os
import random
import re
import sys
import warnings
from re import _parser as sre_parse
from re._constants import (ANY, AT, BRANCH, CATEGORY, IN, LITERAL, MAX_REPEAT,
                           MIN_REPEAT, NEGATE, NOT_LITERAL, RANGE, SUBPATTERN,
                           CATEGORY_DIGIT, CATEGORY_NOT_DIGIT, CATEGORY_SPACE,
                           CATEGORY_NOT_SPACE, CATEGORY_WORD, CATEGORY_NOT_WORD)

SEED = 20240611
N_RANDOM_STR = 1500
N_RANDOM_BYTES = 600
N_ERRORS = 1500

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# ---- output ------------------------------------------------------------------------------------

def esc_str(s):
    out = []
    for ch in s:
        o = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif o < 0x20 or o == 0x7F:
            out.append("\\x%02x" % o)
        elif 0xD800 <= o <= 0xDFFF:
            raise ValueError("surrogate in a str field")
        else:
            out.append(ch)
    r = "".join(out)
    if r.endswith(" "):
        r = r[:-1] + "\\x20"
    return r


def esc_bytes(b):
    out = []
    for o in b:
        if o == 0x5C:
            out.append("\\\\")
        elif o == 0x0A:
            out.append("\\n")
        elif o == 0x0D:
            out.append("\\r")
        elif o == 0x09:
            out.append("\\t")
        elif o < 0x20 or o >= 0x7F:
            out.append("\\x%02x" % o)
        else:
            out.append(chr(o))
    r = "".join(out)
    if r.endswith(" "):
        r = r[:-1] + "\\x20"
    return r


def esc(x):
    return esc_bytes(x) if isinstance(x, bytes) else esc_str(x)


# ---- the corpus --------------------------------------------------------------------------------

def corpus_patterns():
    """onX keyword values and matches() arguments of every corpus command.

    commands.txt holds the SQL-level text; the FIFO doubles backslashes (COPY
    text format) and Python's string literal undoes it, so the literal's value
    is the regex exactly as written in the file."""
    pats = []
    path = os.path.join(ROOT, "tests", "conformance", "commands.txt")
    with open(path, encoding="utf-8") as f:
        for line in f:
            src = line.rstrip("\n").replace("\\", "\\\\")
            tree = ast.parse(src, mode="eval")
            for node in ast.walk(tree):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                    continue
                attr = node.func.attr
                if attr.startswith("on"):
                    vals = [k.value for k in node.keywords]
                elif attr == "matches":
                    vals = list(node.args)
                else:
                    continue
                for v in vals:
                    if isinstance(v, ast.Constant) and isinstance(v.value, (str, bytes)):
                        if v.value not in pats:
                            pats.append(v.value)
    return pats


# ---- sampling strings a pattern matches (heuristic: re decides the answer) -------------------

STR_ALPHABET = list("abcxyzABCXYZ019_ -.,;()*\n\t") + [
    "é", "É", "ß", "ſ", "\u212a", "ı", "İ", "Σ", "σ", "ς", "µ", "Ω", "\u2126",
    "日", "本", "\U0001d11e", "\U0001f600", "\u00a0", "\u2003", "\u0663", "\u00b2", "\x1c",
]
BYTES_ALPHABET = [bytes([b]) for b in b"abcxyzABCXYZ019_ -.,;()*\n\t"] + [
    b"\x00", b"\x7f", b"\x80", b"\xff", b"\xc3\xa9", b"\xe6\x97\xa5", b"\xc3", b"\x0b",
]

CAT_SAMPLES = {
    CATEGORY_DIGIT: "0123456789\u0663\u0967",
    CATEGORY_NOT_DIGIT: "a _-\né\u00b2",
    CATEGORY_SPACE: " \t\n\r\x0b\x0c\x1c\u00a0\u2003\u3000",
    CATEGORY_NOT_SPACE: "aZ0_-é日",
    CATEGORY_WORD: "azAZ09_éßΣ日\u0663\u00b2",
    CATEGORY_NOT_WORD: " -.,\n\u00a0\u2014",
}


class Sampler:
    def __init__(self, rnd, is_bytes):
        self.rnd = rnd
        self.is_bytes = is_bytes

    def char(self, c):
        return bytes([c]) if self.is_bytes else chr(c)

    def anychar(self):
        if self.is_bytes:
            return self.rnd.choice(BYTES_ALPHABET)[:1]
        return self.rnd.choice(STR_ALPHABET)

    def cat(self, c):
        s = self.rnd.choice(CAT_SAMPLES[c])
        if self.is_bytes:
            return s.encode("latin-1", "replace")[:1]
        return s

    def item_set(self, items):
        neg = any(op is NEGATE for op, _ in items)
        if neg:
            return self.anychar()
        choices = [(op, av) for op, av in items if op is not NEGATE]
        if not choices:
            return self.anychar()
        op, av = self.rnd.choice(choices)
        if op is LITERAL:
            return self.char(av)
        if op is RANGE:
            lo, hi = av
            return self.char(self.rnd.randint(lo, min(hi, lo + 300)))
        if op is CATEGORY:
            return self.cat(av)
        return self.anychar()

    def sample(self, sub):
        out = []
        for op, av in sub:
            if op is LITERAL:
                out.append(self.char(av))
            elif op is NOT_LITERAL:
                out.append(self.anychar())
            elif op is ANY:
                out.append(self.anychar())
            elif op is IN:
                out.append(self.item_set(av))
            elif op in (MAX_REPEAT, MIN_REPEAT):
                lo, hi, p = av
                hi = min(hi, lo + 3)
                for _ in range(self.rnd.randint(lo, hi)):
                    out.append(self.sample(p))
            elif op is SUBPATTERN:
                out.append(self.sample(av[-1]))
            elif op is BRANCH:
                out.append(self.sample(self.rnd.choice(av[1])))
            elif op is AT:
                pass
            else:
                out.append(self.anychar())
        return (b"" if self.is_bytes else "").join(out)


def samples(rnd, pattern, n):
    is_bytes = isinstance(pattern, bytes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = sre_parse.parse(pattern)
    s = Sampler(rnd, is_bytes)
    return [s.sample(tree) for _ in range(n)]


def mutate(rnd, s, is_bytes):
    """One small change: drop, replace or insert a character, swap case, add a newline."""
    empty = b"" if is_bytes else ""
    unit = (lambda i: s[i:i + 1])
    alphabet = BYTES_ALPHABET if is_bytes else STR_ALPHABET
    k = rnd.randrange(6)
    if not s or k == 0:
        i = rnd.randint(0, len(s))
        return s[:i] + rnd.choice(alphabet) + s[i:]
    i = rnd.randrange(len(s))
    if k == 1:
        return s[:i] + s[i + 1:]
    if k == 2:
        return s[:i] + rnd.choice(alphabet) + s[i + 1:]
    if k == 3:
        return s.swapcase()
    if k == 4:
        return s + (b"\n" if is_bytes else "\n") + (unit(0) if rnd.random() < 0.5 else empty)
    return (b" " if is_bytes else " ") + s


def random_subject(rnd, is_bytes, maxlen=10):
    alphabet = BYTES_ALPHABET if is_bytes else STR_ALPHABET
    return (b"" if is_bytes else "").join(rnd.choice(alphabet)
                                           for _ in range(rnd.randint(0, maxlen)))


# ---- random patterns of the supported grammar --------------------------------------------------

STR_LITERALS = list("abcxyzABXZ01_ -,;") + ["é", "É", "ß", "ſ", "\u212a", "ı", "İ", "Σ", "ς",
                                             "µ", "日", "\U0001d11e", "\u00a0"]
BYTES_LITERALS = list("abcxyzABXZ01_ -,;")
ESCAPED = ["\\.", "\\*", "\\(", "\\)", "\\[", "\\\\", "\\+", "\\?", "\\|", "\\{", "\\$", "\\^",
           "\\n", "\\t", "\\x41", "\\x7a", "\\101", "\\0", "\\-"]
STR_ESCAPED = ["\\u00e9", "\\u212A", "\\U0001D11E", "\\xe9", "\\u65e5"]


class Gen:
    def __init__(self, rnd, is_bytes):
        self.rnd = rnd
        self.is_bytes = is_bytes
        self.ascii = False
        self.groups = 0
        self.unicode_words = 0
        self.wide = 0

    def literal(self):
        r = self.rnd.random()
        if r < 0.7:
            c = self.rnd.choice(BYTES_LITERALS if self.is_bytes else STR_LITERALS)
            return c
        if r < 0.9 or self.is_bytes:
            return self.rnd.choice(ESCAPED)
        return self.rnd.choice(STR_ESCAPED)

    def category(self):
        c = self.rnd.choice(["\\d", "\\w", "\\s", "\\D", "\\W", "\\S"])
        if not (self.is_bytes or self.ascii) and c in ("\\w", "\\W"):
            # a Unicode \w is a few hundred DFA states: one per pattern keeps
            # every random pattern under the 4096-state limit
            self.unicode_words += 1
            if self.unicode_words > 1:
                return "\\s"
        return c

    def class_item(self):
        r = self.rnd.random()
        lits = "abcxyzAXZ019_-" if self.is_bytes else "abcxyzAXZ019_éßΣ日"
        if r < 0.4:
            c = self.rnd.choice(lits)
            return "\\-" if c == "-" else c
        if r < 0.65:
            a, b = sorted(self.rnd.sample("abcxyzAXZ019" if self.is_bytes else "abcxyzAXZ019éΣ日", 2),
                          key=ord)
            return a + "-" + b
        if r < 0.8:
            return self.category()
        return self.rnd.choice(["\\n", "\\t", "\\.", "\\]", "\\\\", "\\^", " ", ".", "*", "(",
                                "$", "\\x41-\\x43", "\\b"])

    def klass(self):
        neg = "^" if self.rnd.random() < 0.35 else ""
        items = "".join(self.class_item() for _ in range(self.rnd.randint(1, 3)))
        return "[" + neg + items + "]"

    def anchor(self):
        choices = ["^", "$", "\\A", "\\Z"]
        if self.is_bytes or self.ascii:
            choices += ["\\b", "\\B"]
        return self.rnd.choice(choices)

    def quant(self):
        q = self.rnd.choice(["*", "+", "?", "{2}", "{1,2}", "{0,2}", "{2,}", "{,2}", "{3}", "{0}"])
        if self.rnd.random() < 0.25:
            q += "?"
        return q

    def wide_ok(self):
        """Few wide atoms (., [^...], \\W ...): in a search DFA over UTF-8 their
        overlapping partial matches multiply, and the answer does not need many."""
        self.wide += 1
        return self.wide <= 2

    def atom(self, depth):
        """An atom and how it may be quantified: "any", "opt" (only ? or {0,1}:
        a repeated group of wide atoms makes a huge search DFA) or "none"."""
        r = self.rnd.random()
        if r < 0.45:
            return self.literal(), "any"
        if r < 0.55:
            return (".", "any") if self.wide_ok() else (self.literal(), "any")
        if r < 0.70:
            k = self.klass()
            if (k.startswith("[^") or "\\w" in k or "\\W" in k) and not self.wide_ok():
                return self.literal(), "any"
            return k, "any"
        if r < 0.78:
            c = self.category()
            if c in ("\\D", "\\W", "\\S", "\\w") and not self.wide_ok():
                return self.literal(), "any"
            return c, "any"
        if r < 0.88 and depth < 2:
            wide = self.wide
            inner = self.alt(depth + 1)
            kind = self.rnd.random()
            if kind < 0.4:
                text = "(" + inner + ")"
            elif kind < 0.7:
                text = "(?:" + inner + ")"
            elif kind < 0.8:
                self.groups += 1
                text = "(?P<g%d>" % self.groups + inner + ")"
            else:
                flag = self.rnd.choice(["i", "s", "m", "-i", "x", "i-s"] +
                                       ([] if self.is_bytes else ["a"]))
                if flag == "a":
                    saved = self.ascii
                    self.ascii = True
                    inner = self.alt(depth + 1)
                    self.ascii = saved
                text = "(?" + flag + ":" + inner + ")"
            return text, "opt" if self.wide > wide else "any"
        return self.anchor(), "none"

    def seq(self, depth):
        out = []
        for _ in range(self.rnd.randint(1, 3)):
            a, quant = self.atom(depth)
            if quant != "none" and self.rnd.random() < 0.3:
                a += self.quant() if quant == "any" else self.rnd.choice(["?", "{0,1}", "??"])
            out.append(a)
        return "".join(out)

    def alt(self, depth):
        n = 1 if self.rnd.random() < 0.7 else self.rnd.randint(2, 3)
        return "|".join(self.seq(depth) for _ in range(n))

    def pattern(self):
        flags = ""
        for f in ["i", "m", "s", "x"] + ([] if self.is_bytes else ["a"]):
            if self.rnd.random() < 0.12:
                flags += f
        self.ascii = "a" in flags
        head = "(?%s)" % flags if flags else ""
        body = self.alt(0)
        p = head + body
        return p.encode("latin-1") if self.is_bytes else p


def compile_error(p):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            re.compile(p)
        except (re.error, OverflowError, ValueError) as e:
            return str(e)
    return None


def search(p, s):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return re.search(p, s) is not None


MUTATIONS = ["(", ")", "[", "]", "{", "}", "*", "+", "?", "\\", "|", "(?", "(?P<", "(?P<1>",
             "(?P=x)", "\\x", "\\u12", "\\8", "{2,1}", "[z-a]", "(?i", "(?z)", "(?-", "(?P",
             "[\\d-z]", "\\U00110000", "(?#", "\\c", "(?<", "(?i)", "(?x)", "(?a)", "(?u)",
             "(?L)", "(?i-i:", "{4294967295}", "\\777", "(?(1)", "a**", "^*"]


def error_pattern(rnd, is_bytes):
    g = Gen(rnd, is_bytes)
    for _ in range(100):
        p = g.pattern()
        text = p.decode("latin-1") if is_bytes else p
        for _ in range(rnd.randint(1, 2)):
            i = rnd.randint(0, len(text))
            text = text[:i] + rnd.choice(MUTATIONS) + text[i:]
        if is_bytes:
            try:
                q = text.encode("latin-1")
            except UnicodeEncodeError:
                continue
        else:
            q = text
        msg = compile_error(q)
        if msg is not None:
            return q, msg
    return None


# ---- main ----------------------------------------------------------------------------------------

def main():
    if sys.version_info[:2] != (3, 11):
        sys.exit("gen_regex_cases: run with Python 3.11 (the re and Unicode tables it pins)")
    seed = int(sys.argv[2]) if len(sys.argv) == 3 and sys.argv[1] == "--seed" else SEED
    rnd = random.Random(seed)
    w = sys.stdout.write
    w("# GENERATED by tests/unit/gen_regex_cases.py with Python %s; do not edit.\n"
      % sys.version.split()[0])
    w("# re.search answers for the regex differential test (format: see the generator).\n")

    # corpus patterns against a shared pool
    pats = corpus_patterns()
    str_pats = [p for p in pats if isinstance(p, str)]
    byte_pats = [p for p in pats if isinstance(p, bytes)]
    pool = []
    contexts = ["", "", "SELECT 1; ", "BEGIN;\n", "  ", "-- x\n", "select ", "é "]
    for p in str_pats:
        for s in samples(rnd, p, 2):
            pool.append(s)
            pool.append(rnd.choice(contexts) + s + rnd.choice(["", ";", " WHERE x = 1", "\n"]))
            pool.append(mutate(rnd, s, False))
            pool.append(s.lower() if rnd.random() < 0.5 else mutate(rnd, mutate(rnd, s, False), False))
    pool += ["", "\n", "COMMIT", "COMMIT\n", "COMMIT\nX", " COMMIT", "SELECT 1", "SELECT 1\n",
             "SELECT 1\n\n", "SELECT 1 ", "ROLLBACK", "BEGIN", "PREPARE TRANSACTION 'citus_0_1'",
             "COMMIT PREPARED 'citus_0_1'", "SELECT worker_apply_shard_ddl_command (102008, 'public', "
             "'CREATE TABLE public.t (a int)')", "COPY 3", "COPY 30", "INSERT 0 1"]
    seen = set()
    pool = [s for s in pool if not (s in seen or seen.add(s))]
    w("D corpus\n")
    for s in pool:
        w("d %s\n" % esc_str(s))
    for p in str_pats:
        w("P s %s\n" % esc_str(p))
        w("U corpus %s\n" % "".join("1" if search(p, s) else "0" for s in pool))
    bpool = [s.encode("utf-8") for s in pool] + [b"\x00CREATE INDEX\xff", b"CREATE\xffINDEX"]
    for p in byte_pats:
        w("P b %s\n" % esc_bytes(p))
        for s in bpool:
            w("%s %s\n" % ("+" if search(p, s) else "-", esc_bytes(s)))

    # random patterns
    for i in range(N_RANDOM_STR + N_RANDOM_BYTES):
        is_bytes = i >= N_RANDOM_STR
        g = Gen(rnd, is_bytes)
        while True:
            p = g.pattern()
            if compile_error(p) is None:
                break
        subjects = []
        for s in samples(rnd, p, 5):
            subjects.append(s)
            subjects.append(random_subject(rnd, is_bytes, 3) + s + random_subject(rnd, is_bytes, 3))
            subjects.append(mutate(rnd, s, is_bytes))
        for _ in range(4):
            subjects.append(random_subject(rnd, is_bytes))
        subjects.append(b"" if is_bytes else "")
        seen = set()
        subjects = [s for s in subjects if not (s in seen or seen.add(s))]
        w("P %s %s\n" % ("b" if is_bytes else "s", esc(p)))
        for s in subjects:
            w("%s %s\n" % ("+" if search(p, s) else "-", esc(s)))

    # invalid patterns
    done = 0
    seen = set()
    while done < N_ERRORS:
        is_bytes = rnd.random() < 0.25
        r = error_pattern(rnd, is_bytes)
        if r is None or r[0] in seen:
            continue
        p, msg = r
        seen.add(p)
        if "\\N" in (p.decode("latin-1") if is_bytes else p):
            continue
        w("P %s %s\n" % ("b" if is_bytes else "s", esc(p)))
        w("! %s\n" % esc_str(msg))
        done += 1


main()
