import { describe, expect, it } from "vitest"
import {
  inclusiveRangeError,
  isCIdentifier,
  isDNS1035Label,
  isDNS1123Label,
  isDNS1123Subdomain,
  isEnvVarName,
  isInRange,
  isQualifiedName,
  isRelaxedEnvVarName,
  isValidIP,
  isValidLabelValue,
  isValidPathSegmentName,
  isValidPercent,
  isValidPortName,
  isValidPortNum,
  maxLenError,
  parseIPSloppy,
  regexError,
  utf8Length,
} from "../src/names.ts"

// The messages below are written out in full, as Kubernetes prints them, so that a change to
// any wording fails a test.
const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
const DNS1035_MSG =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
const NAME_PART_MSG =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
const LABEL_VALUE_MSG =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
const C_IDENT_MSG =
  "a valid C identifier must start with alphabetic character or '_', followed by a string of alphanumeric characters or '_' (e.g. 'my_name',  or 'MY_NAME',  or 'MyName', regex used for validation is '[A-Za-z_][A-Za-z0-9_]*')"
const ENV_MSG =
  "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')"
const IP_MSG = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
const PERCENT_MSG =
  "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"

type Case = readonly [input: string, errors: ReadonlyArray<string>]

const table = (fn: (s: string) => ReadonlyArray<string>, cases: ReadonlyArray<Case>) => {
  for (const [input, errors] of cases) {
    it(`${JSON.stringify(input.length > 40 ? `${input.slice(0, 37)}...` : input)}`, () => {
      expect(fn(input)).toEqual(errors)
    })
  }
}

describe("message builders", () => {
  it("regexError lists examples separated by ' or '", () => {
    expect(regexError("m", "f")).toBe("m (regex used for validation is 'f')")
    expect(regexError("m", "f", "a")).toBe("m (e.g. 'a', regex used for validation is 'f')")
    expect(regexError("m", "f", "a", "b")).toBe(
      "m (e.g. 'a',  or 'b', regex used for validation is 'f')",
    )
  })
  it("maxLenError and inclusiveRangeError", () => {
    expect(maxLenError(63)).toBe("must be no more than 63 characters")
    expect(inclusiveRangeError(1, 65535)).toBe("must be between 1 and 65535, inclusive")
  })
  it("utf8Length counts bytes as Go's len does", () => {
    expect(utf8Length("")).toBe(0)
    expect(utf8Length("abc")).toBe(3)
    expect(utf8Length("é")).toBe(2)
    expect(utf8Length("€")).toBe(3)
    expect(utf8Length("😀")).toBe(4)
    expect(utf8Length("\ud800")).toBe(3)
  })
})

describe("isDNS1123Label", () => {
  table(isDNS1123Label, [
    ["a", []],
    ["ab-c", []],
    ["0", []],
    ["123-abc", []],
    ["a".repeat(63), []],
    ["", [LABEL_MSG]],
    ["A", [LABEL_MSG]],
    ["-a", [LABEL_MSG]],
    ["a-", [LABEL_MSG]],
    ["a_b", [LABEL_MSG]],
    ["a b", [LABEL_MSG]],
    ["a.b", ["must not contain dots"]],
    ["a..b", [LABEL_MSG]],
    ["a".repeat(64), [maxLenError(63)]],
    [`${"a".repeat(64)}.b`, [maxLenError(63), "must not contain dots"]],
    [`-${"a".repeat(64)}`, [maxLenError(63), LABEL_MSG]],
  ])
})

describe("isDNS1123Subdomain", () => {
  table(isDNS1123Subdomain, [
    ["a", []],
    ["example.com", []],
    ["a.b-c.d0", []],
    [`${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(61)}`, []],
    ["", [SUBDOMAIN_MSG]],
    ["Example.com", [SUBDOMAIN_MSG]],
    [".a", [SUBDOMAIN_MSG]],
    ["a.", [SUBDOMAIN_MSG]],
    ["a..b", [SUBDOMAIN_MSG]],
    ["a.-b", [SUBDOMAIN_MSG]],
    ["a_b.com", [SUBDOMAIN_MSG]],
    ["a".repeat(254), [maxLenError(253)]],
    [`${"a".repeat(254)}_`, [maxLenError(253), SUBDOMAIN_MSG]],
  ])
})

describe("isDNS1035Label", () => {
  table(isDNS1035Label, [
    ["a", []],
    ["my-name", []],
    ["abc-123", []],
    ["0a", [DNS1035_MSG]],
    ["1", [DNS1035_MSG]],
    ["", [DNS1035_MSG]],
    ["a.b", [DNS1035_MSG]],
    ["a-", [DNS1035_MSG]],
    ["Ab", [DNS1035_MSG]],
    ["a".repeat(64), [maxLenError(63)]],
  ])
})

describe("isQualifiedName", () => {
  table(isQualifiedName, [
    ["simple", []],
    ["now-with-dashes", []],
    ["1-starts-with-num", []],
    ["1234", []],
    ["simple/simple", []],
    ["now-with-dashes/simple", []],
    ["now-with-dashes/now-with-dashes", []],
    ["now.with.dots/simple", []],
    ["now-with.dashes-and.dots/simple", []],
    ["1-num.2-num/3-num", []],
    ["1234/5678", []],
    ["1.2.3.4/5678", []],
    ["Uppercase_Is_OK_123", []],
    ["example.com/Uppercase_Is_OK_123", []],
    ["requests.storage-foo", []],
    ["a".repeat(63), []],
    [`${"a".repeat(253)}/${"b".repeat(63)}`, []],
    ["", [`name part ${"must be non-empty"}`, NAME_PART_MSG]],
    ["nospecialchars%^=@", [NAME_PART_MSG]],
    ["cantendwithadash-", [NAME_PART_MSG]],
    ["-cantstartwithadash-", [NAME_PART_MSG]],
    [
      "only/one/slash",
      [
        "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
      ],
    ],
    ["Example.com/abc", [`prefix part ${SUBDOMAIN_MSG}`]],
    ["example_com/abc", [`prefix part ${SUBDOMAIN_MSG}`]],
    ["example.com/", ["name part must be non-empty", NAME_PART_MSG]],
    ["/simple", ["prefix part must be non-empty"]],
    ["/", ["prefix part must be non-empty", "name part must be non-empty", NAME_PART_MSG]],
    ["a".repeat(64), [`name part ${maxLenError(63)}`]],
    [`${"a".repeat(254)}/abc`, [`prefix part ${maxLenError(253)}`]],
    [`-${"a".repeat(64)}`, [`name part ${maxLenError(63)}`, NAME_PART_MSG]],
  ])
})

describe("isValidLabelValue", () => {
  table(isValidLabelValue, [
    ["", []],
    ["simple", []],
    ["now-with-dashes", []],
    ["1-starts-with-num", []],
    ["end-with-num-1", []],
    ["1234", []],
    ["a".repeat(63), []],
    ["Uppercase_Is_OK_123", []],
    ["a.b_c-D", []],
    ["nospecialchars%^=@", [LABEL_VALUE_MSG]],
    ["Tama-nui-te-rā.is.Māori.sun", [LABEL_VALUE_MSG]],
    ["\\backslashes\\are\\bad", [LABEL_VALUE_MSG]],
    ["-starts-with-dash", [LABEL_VALUE_MSG]],
    ["ends-with-dash-", [LABEL_VALUE_MSG]],
    [".starts.with.dot", [LABEL_VALUE_MSG]],
    ["ends.with.dot.", [LABEL_VALUE_MSG]],
    ["a/b", [LABEL_VALUE_MSG]],
    ["a".repeat(64), [maxLenError(63)]],
    ["ā".repeat(32), [maxLenError(63), LABEL_VALUE_MSG]],
  ])
})

describe("isCIdentifier", () => {
  table(isCIdentifier, [
    ["a", []],
    ["ab", []],
    ["abc", []],
    ["a1", []],
    ["_a", []],
    ["a_", []],
    ["a_b", []],
    ["a_1", []],
    ["A", []],
    ["AB_AbC_1", []],
    ["_", []],
    ["", [C_IDENT_MSG]],
    ["1", [C_IDENT_MSG]],
    ["123", [C_IDENT_MSG]],
    ["1a", [C_IDENT_MSG]],
    ["a-b", [C_IDENT_MSG]],
    ["a.b", [C_IDENT_MSG]],
    ["a b", [C_IDENT_MSG]],
    ["a#", [C_IDENT_MSG]],
    ["a@", [C_IDENT_MSG]],
  ])
})

describe("isEnvVarName", () => {
  table(isEnvVarName, [
    ["a", []],
    ["ABC", []],
    ["AbC_123", []],
    ["_", []],
    ["a.b", []],
    ["my.env-name", []],
    ["-a", []],
    [".a", []],
    ["...", ["must not start with '..'"]],
    ["..", ["must not be '..'"]],
    [".", ["must not be '.'"]],
    ["..a", ["must not start with '..'"]],
    ["", [ENV_MSG]],
    ["1a", [ENV_MSG]],
    ["a b", [ENV_MSG]],
    ["a=b", [ENV_MSG]],
    ["a$", [ENV_MSG]],
  ])
})

describe("isRelaxedEnvVarName", () => {
  const RELAXED =
    "a valid environment variable name must consist only of printable ASCII characters other than '='"
  table(isRelaxedEnvVarName, [
    ["a", []],
    ["1a", []],
    ["a b!@#$%^&*()", []],
    ["", ["environment variable name must be non-empty"]],
    ["a=b", [RELAXED]],
    ["a\tb", [RELAXED]],
    ["é", [RELAXED]],
  ])
})

describe("isValidPortName", () => {
  table(isValidPortName, [
    ["telnet", []],
    ["re-mail-ck", []],
    ["pop3", []],
    ["a", []],
    ["a-1", []],
    ["1-a", []],
    ["a-1-b-2-c-3-d-4", []],
    [
      "",
      [
        "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
        "must contain at least one letter (a-z)",
      ],
    ],
    ["1234", ["must contain at least one letter (a-z)"]],
    ["a-1-b-2-c-3-d-4-e", [maxLenError(15)]],
    ["telnet?", ["must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"]],
    ["Telnet", ["must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"]],
    ["re--mail", ["must not contain consecutive hyphens"]],
    ["-telnet", ["must not begin or end with a hyphen"]],
    ["telnet-", ["must not begin or end with a hyphen"]],
    ["-", ["must contain at least one letter (a-z)", "must not begin or end with a hyphen"]],
    [
      "--",
      [
        "must contain at least one letter (a-z)",
        "must not contain consecutive hyphens",
        "must not begin or end with a hyphen",
      ],
    ],
  ])
})

describe("isValidPortNum and isInRange", () => {
  it("accepts 1..65535 and rejects the rest", () => {
    for (const p of [1, 80, 443, 65535]) expect(isValidPortNum(p)).toEqual([])
    for (const p of [0, -1, 65536, 1 << 20, 1.5, Number.NaN]) {
      expect(isValidPortNum(p)).toEqual(["must be between 1 and 65535, inclusive"])
    }
  })
  it("isInRange is inclusive at both ends", () => {
    expect(isInRange(30000, 30000, 32767)).toEqual([])
    expect(isInRange(32767, 30000, 32767)).toEqual([])
    expect(isInRange(29999, 30000, 32767)).toEqual(["must be between 30000 and 32767, inclusive"])
    expect(isInRange(32768, 30000, 32767)).toEqual(["must be between 30000 and 32767, inclusive"])
    expect(isInRange(-5, -10, -1)).toEqual([])
  })
})

describe("isValidPercent", () => {
  table(isValidPercent, [
    ["0%", []],
    ["00001%", []],
    ["25%", []],
    ["1000%", []],
    ["", [PERCENT_MSG]],
    ["%", [PERCENT_MSG]],
    ["25", [PERCENT_MSG]],
    ["-1%", [PERCENT_MSG]],
    ["1.5%", [PERCENT_MSG]],
    ["25 %", [PERCENT_MSG]],
    ["25%%", [PERCENT_MSG]],
  ])
})

describe("isValidIP", () => {
  const valid = [
    "0.0.0.0",
    "1.1.1.1",
    "10.9.8.7",
    "255.255.255.255",
    "001.002.003.004", // accepted by the sloppy parser Kubernetes keeps for compatibility
    "::",
    "::1",
    "1::",
    "2001:db8::ffff",
    "2001:DB8:0:0:8:800:200C:417A",
    "2001:0db8:0000:0000:0000:0000:0000:0001",
    "fe80::1:2:3:4:5:6",
    "1:2:3:4:5:6:7:8",
    "::ffff:1.2.3.4",
    "::1.2.3.4",
    "1:2:3:4:5:6:1.2.3.4",
    "1::1.2.3.4",
    "00000001::",
  ]
  const invalid = [
    "",
    "1",
    "1.2.3",
    "1.2.3.4.5",
    "256.0.0.0",
    "1.2.3.-4",
    "1.2.3.4 ",
    " 1.2.3.4",
    "1..2.3",
    "a.b.c.d",
    ":",
    ":::",
    "1:2",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7",
    "1::2::3",
    "1:2:3:4:5:6:7::8",
    "1:2:3:4::5:6:7:8",
    "12345::",
    "1:",
    ":1",
    "::1:",
    "g::",
    "fe80::1%eth0",
    "1:2:3:4:5:1.2.3.4",
    "1:2:3:4:5:6:7:1.2.3.4",
    "::1.2.3",
    "::1.2.3.4:1",
    "1.2.3.4::",
    "2001:db8::/64",
  ]
  for (const ip of valid) {
    it(`accepts ${ip}`, () => {
      expect(isValidIP(ip)).toEqual([])
    })
  }
  for (const ip of invalid) {
    it(`rejects ${JSON.stringify(ip)}`, () => {
      expect(isValidIP(ip)).toEqual([IP_MSG])
    })
  }
  it("parses to 16 bytes with IPv4 mapped into ::ffff:0:0/96", () => {
    expect(Array.from(parseIPSloppy("10.9.8.7")!)).toEqual([
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 10, 9, 8, 7,
    ])
    expect(Array.from(parseIPSloppy("2001:db8::ff:1")!)).toEqual([
      0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0, 1,
    ])
    expect(Array.from(parseIPSloppy("::1.2.3.4")!)).toEqual([
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4,
    ])
    expect(Array.from(parseIPSloppy("1::")!)).toEqual([
      0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ])
  })
})

describe("isValidPathSegmentName", () => {
  it("refuses . and .., and names with / or % (every reason), as apimachinery", () => {
    expect(isValidPathSegmentName("web-1")).toEqual([])
    expect(isValidPathSegmentName("")).toEqual([])
    expect(isValidPathSegmentName(".")).toEqual(["may not be '.'"])
    expect(isValidPathSegmentName("..")).toEqual(["may not be '..'"])
    expect(isValidPathSegmentName("...")).toEqual([])
    expect(isValidPathSegmentName("a/b")).toEqual(["may not contain '/'"])
    expect(isValidPathSegmentName("a%b/c")).toEqual(["may not contain '/'", "may not contain '%'"])
  })
})
