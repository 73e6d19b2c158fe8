/**
 * Kubernetes' string and number validators (`k8s.io/apimachinery/pkg/util/validation`),
 * worded as that package words them in recent releases ("a lowercase RFC 1123 label ...",
 * "must not contain dots", "a qualified name ...", lengths "must be no more than N
 * characters"), before the 2025 move of some of them to `api/validate/content`, which
 * rewords a few. Each validator returns the list of problems
 * (empty = valid), exactly the strings Kubernetes returns, so callers can wrap them in
 * field errors (`metadata.name: Invalid value: "Foo": a lowercase RFC 1123 ...`).
 *
 * Lengths are measured in UTF-8 bytes, as Go's `len(string)` does.
 */

// --- message builders (Kubernetes' MaxLenError, RegexError, EmptyError, InclusiveRangeError)

export const maxLenError = (length: number): string => `must be no more than ${length} characters`

export const emptyError = (): string => "must be non-empty"

export const inclusiveRangeError = (lo: number, hi: number): string =>
  `must be between ${lo} and ${hi}, inclusive`

/** `msg (e.g. 'a' or 'b', regex used for validation is 'fmt')`. */
export const regexError = (
  msg: string,
  fmt: string,
  ...examples: ReadonlyArray<string>
): string => {
  if (examples.length === 0) return `${msg} (regex used for validation is '${fmt}')`
  let out = `${msg} (e.g. `
  for (let i = 0; i < examples.length; i++) {
    if (i > 0) out += " or "
    out += `'${examples[i]}', `
  }
  return `${out}regex used for validation is '${fmt}')`
}

/** Length of `s` in UTF-8 bytes (Go's `len` on a string). Lone surrogates count as 3 (U+FFFD). */
export const utf8Length = (s: string): number => {
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) n += 1
    else if (c < 0x800) n += 2
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1)
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4
        i++
      } else n += 3
    } else n += 3
  }
  return n
}

const NONE: ReadonlyArray<string> = Object.freeze([])

// --- qualified names and label values

const qualifiedNameFmt = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
const qualifiedNameErrMsg =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
export const QualifiedNameMaxLength = 63
const qualifiedNameRegexp = new RegExp(`^${qualifiedNameFmt}$`)

/**
 * A "qualified name": an optional DNS-1123 subdomain prefix and `/`, then a name of at most 63
 * characters. This is the format of label keys, annotation keys and finalizers.
 */
export const isQualifiedName = (value: string): ReadonlyArray<string> => {
  const parts = value.split("/")
  let name: string
  const errs: Array<string> = []
  if (parts.length === 1) {
    name = parts[0]!
  } else if (parts.length === 2) {
    const prefix = parts[0]!
    name = parts[1]!
    if (prefix.length === 0) errs.push(`prefix part ${emptyError()}`)
    else for (const msg of isDNS1123Subdomain(prefix)) errs.push(`prefix part ${msg}`)
  } else {
    return [
      `a qualified name ${regexError(qualifiedNameErrMsg, qualifiedNameFmt, "MyName", "my.name", "123-abc")} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ]
  }
  if (name.length === 0) errs.push(`name part ${emptyError()}`)
  else if (utf8Length(name) > QualifiedNameMaxLength)
    errs.push(`name part ${maxLenError(QualifiedNameMaxLength)}`)
  if (!qualifiedNameRegexp.test(name)) {
    errs.push(
      `name part ${regexError(qualifiedNameErrMsg, qualifiedNameFmt, "MyName", "my.name", "123-abc")}`,
    )
  }
  return errs
}

const labelValueFmt = `(${qualifiedNameFmt})?`
const labelValueErrMsg =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
export const LabelValueMaxLength = 63
const labelValueRegexp = new RegExp(`^${labelValueFmt}$`)

/** A label value: empty, or up to 63 characters of `[-A-Za-z0-9_.]` starting and ending alphanumeric. */
export const isValidLabelValue = (value: string): ReadonlyArray<string> => {
  const tooLong = utf8Length(value) > LabelValueMaxLength
  const bad = !labelValueRegexp.test(value)
  if (!tooLong && !bad) return NONE
  const errs: Array<string> = []
  if (tooLong) errs.push(maxLenError(LabelValueMaxLength))
  if (bad) errs.push(regexError(labelValueErrMsg, labelValueFmt, "MyValue", "my_value", "12345"))
  return errs
}

// --- Path segments

/**
 * apimachinery's `IsValidPathSegmentName`: why a name cannot be one segment
 * of a request path (an object's name or namespace in its URL); none when it can.
 */
export const isValidPathSegmentName = (name: string): ReadonlyArray<string> => {
  if (name === "." || name === "..") return [`may not be '${name}'`]
  if (!name.includes("/") && !name.includes("%")) return NONE
  return ["/", "%"].filter((c) => name.includes(c)).map((c) => `may not contain '${c}'`)
}

// --- DNS names

const dns1123LabelFmt = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
const dns1123LabelErrMsg =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character"
export const DNS1123LabelMaxLength = 63
const dns1123LabelRegexp = new RegExp(`^${dns1123LabelFmt}$`)

const dns1123SubdomainFmt = `${dns1123LabelFmt}(\\.${dns1123LabelFmt})*`
const dns1123SubdomainErrorMsg =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
export const DNS1123SubdomainMaxLength = 253
const dns1123SubdomainRegexp = new RegExp(`^${dns1123SubdomainFmt}$`)

/** An RFC 1123 label (namespace names, container names, ...): at most 63 of `[-a-z0-9]`. */
export const isDNS1123Label = (value: string): ReadonlyArray<string> => {
  const tooLong = utf8Length(value) > DNS1123LabelMaxLength
  const bad = !dns1123LabelRegexp.test(value)
  if (!tooLong && !bad) return NONE
  const errs: Array<string> = []
  if (tooLong) errs.push(maxLenError(DNS1123LabelMaxLength))
  if (bad) {
    // A valid subdomain that is not a valid label can only be failing because of its dots.
    if (dns1123SubdomainRegexp.test(value)) errs.push("must not contain dots")
    else errs.push(regexError(dns1123LabelErrMsg, dns1123LabelFmt, "my-name", "123-abc"))
  }
  return errs
}

/** An RFC 1123 subdomain (most object names): at most 253 characters of dot-separated labels. */
export const isDNS1123Subdomain = (value: string): ReadonlyArray<string> => {
  const tooLong = utf8Length(value) > DNS1123SubdomainMaxLength
  const bad = !dns1123SubdomainRegexp.test(value)
  if (!tooLong && !bad) return NONE
  const errs: Array<string> = []
  if (tooLong) errs.push(maxLenError(DNS1123SubdomainMaxLength))
  if (bad) errs.push(regexError(dns1123SubdomainErrorMsg, dns1123SubdomainFmt, "example.com"))
  return errs
}

const dns1035LabelFmt = "[a-z]([-a-z0-9]*[a-z0-9])?"
const dns1035LabelErrMsg =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character"
export const DNS1035LabelMaxLength = 63
const dns1035LabelRegexp = new RegExp(`^${dns1035LabelFmt}$`)

/** An RFC 1035 label (Service names): like a DNS-1123 label but starting with a letter. */
export const isDNS1035Label = (value: string): ReadonlyArray<string> => {
  const tooLong = utf8Length(value) > DNS1035LabelMaxLength
  const bad = !dns1035LabelRegexp.test(value)
  if (!tooLong && !bad) return NONE
  const errs: Array<string> = []
  if (tooLong) errs.push(maxLenError(DNS1035LabelMaxLength))
  if (bad) errs.push(regexError(dns1035LabelErrMsg, dns1035LabelFmt, "my-name", "abc-123"))
  return errs
}

// --- identifiers and environment variable names

const cIdentifierFmt = "[A-Za-z_][A-Za-z0-9_]*"
const identifierErrMsg =
  "a valid C identifier must start with alphabetic character or '_', followed by a string of alphanumeric characters or '_'"
const cIdentifierRegexp = new RegExp(`^${cIdentifierFmt}$`)

/** A C identifier (format only, no length limit). */
export const isCIdentifier = (value: string): ReadonlyArray<string> =>
  cIdentifierRegexp.test(value)
    ? NONE
    : [regexError(identifierErrMsg, cIdentifierFmt, "my_name", "MY_NAME", "MyName")]

const envVarNameFmt = "[-._a-zA-Z][-._a-zA-Z0-9]*"
const envVarNameFmtErrMsg =
  "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit"
const envVarNameRegexp = new RegExp(`^${envVarNameFmt}$`)

/** Names that would step out of a directory when used as a file name (`.`, `..`, `..x`). */
const chDirPrefixErrors = (value: string): ReadonlyArray<string> => {
  if (value === ".") return ["must not be '.'"]
  if (value === "..") return ["must not be '..'"]
  if (value.startsWith("..")) return ["must not start with '..'"]
  return NONE
}

/** An environment variable name as Kubernetes validates `env[].name` (strict mode). */
export const isEnvVarName = (value: string): ReadonlyArray<string> => {
  const errs: Array<string> = []
  if (!envVarNameRegexp.test(value)) {
    errs.push(
      regexError(envVarNameFmtErrMsg, envVarNameFmt, "my.env-name", "MY_ENV.NAME", "MyEnvName1"),
    )
  }
  errs.push(...chDirPrefixErrors(value))
  return errs.length === 0 ? NONE : errs
}

/**
 * An environment variable name under `RelaxedEnvironmentVariableValidation`: any printable
 * ASCII except `=`.
 */
export const isRelaxedEnvVarName = (value: string): ReadonlyArray<string> => {
  const errs: Array<string> = []
  if (value.length === 0) errs.push(`environment variable name ${emptyError()}`)
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if (c < 0x20 || c > 0x7e || c === 0x3d) {
      errs.push(
        "a valid environment variable name must consist only of printable ASCII characters other than '='",
      )
      break
    }
  }
  return errs.length === 0 ? NONE : errs
}

// --- ports, ranges, percentages

/** A port number in 1..65535. */
export const isValidPortNum = (port: number): ReadonlyArray<string> =>
  Number.isInteger(port) && port >= 1 && port <= 65535 ? NONE : [inclusiveRangeError(1, 65535)]

/** `value` in the inclusive range `[min, max]`. */
export const isInRange = (value: number, min: number, max: number): ReadonlyArray<string> =>
  value >= min && value <= max ? NONE : [inclusiveRangeError(min, max)]

const portNameCharsetRegexp = /^[-a-z0-9]+$/
const portNameOneLetterRegexp = /[a-z]/

/**
 * An IANA service name (RFC 6335), as used for named ports: at most 15 of `[-a-z0-9]`, at least
 * one letter, no leading, trailing or doubled hyphen. Lower case only, as Kubernetes requires.
 */
export const isValidPortName = (port: string): ReadonlyArray<string> => {
  const errs: Array<string> = []
  if (utf8Length(port) > 15) errs.push(maxLenError(15))
  if (!portNameCharsetRegexp.test(port))
    errs.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
  if (!portNameOneLetterRegexp.test(port)) errs.push("must contain at least one letter (a-z)")
  if (port.includes("--")) errs.push("must not contain consecutive hyphens")
  if (port.length > 0 && (port.startsWith("-") || port.endsWith("-")))
    errs.push("must not begin or end with a hyphen")
  return errs.length === 0 ? NONE : errs
}

const percentFmt = "[0-9]+%"
const percentErrMsg = "a valid percent string must be a numeric string followed by an ending '%'"
const percentRegexp = new RegExp(`^${percentFmt}$`)

/** A percentage string such as `25%`. */
export const isValidPercent = (percent: string): ReadonlyArray<string> =>
  percentRegexp.test(percent) ? NONE : [regexError(percentErrMsg, percentFmt, "1%", "93%")]

// --- IP addresses

/**
 * Parses an IPv4 or IPv6 address as Kubernetes' `netutils.ParseIPSloppy` does (Go's parser
 * before 1.17): IPv4 octets may carry leading zeros (read as decimal), IPv6 may embed a trailing
 * IPv4, zones are rejected. Returns 16 bytes (IPv4 as `::ffff:a.b.c.d`) or undefined.
 */
export const parseIPSloppy = (s: string): Uint8Array | undefined => {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 0x2e /* . */) {
      const out = new Uint8Array(16)
      out[10] = 0xff
      out[11] = 0xff
      return parseIPv4Into(s, 0, s.length, out, 12) ? out : undefined
    }
    if (c === 0x3a /* : */) return parseIPv6(s)
  }
  return undefined
}

/** Parses `s[from, to)` as dotted-quad IPv4 into `out[at..at+4)`. */
const parseIPv4Into = (
  s: string,
  from: number,
  to: number,
  out: Uint8Array,
  at: number,
): boolean => {
  let p = from
  for (let part = 0; part < 4; part++) {
    if (part > 0) {
      if (p >= to || s.charCodeAt(p) !== 0x2e) return false
      p++
    }
    let n = 0
    const start = p
    while (p < to) {
      const d = s.charCodeAt(p) - 0x30
      if (d < 0 || d > 9) break
      n = n * 10 + d
      if (n > 0xff) return false
      p++
    }
    if (p === start) return false
    out[at + part] = n
  }
  return p === to
}

const hexDigit = (c: number): number => {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10
  return -1
}

const parseIPv6 = (s: string): Uint8Array | undefined => {
  const ip = new Uint8Array(16)
  let ellipsis = -1 // byte offset of "::" in ip, or -1
  let p = 0
  const end = s.length
  if (end >= 2 && s.charCodeAt(0) === 0x3a && s.charCodeAt(1) === 0x3a) {
    ellipsis = 0
    p = 2
    if (p === end) return ip
  }
  let i = 0
  while (i < 16) {
    // A group of hex digits (leading zeros allowed, value at most 0xffff).
    let n = 0
    const start = p
    while (p < end) {
      const d = hexDigit(s.charCodeAt(p))
      if (d < 0) break
      n = n * 16 + d
      if (n > 0xffff) return undefined
      p++
    }
    if (p === start) return undefined
    if (p < end && s.charCodeAt(p) === 0x2e) {
      // An embedded IPv4 must fill the last four bytes, or sit before them after a "::".
      if (ellipsis < 0 && i !== 12) return undefined
      if (i + 4 > 16) return undefined
      if (!parseIPv4Into(s, start, end, ip, i)) return undefined
      p = end
      i += 4
      break
    }
    ip[i] = n >> 8
    ip[i + 1] = n & 0xff
    i += 2
    if (p === end) break
    if (s.charCodeAt(p) !== 0x3a || p + 1 === end) return undefined
    p++
    if (s.charCodeAt(p) === 0x3a) {
      if (ellipsis >= 0) return undefined
      ellipsis = i
      p++
      if (p === end) break
    }
  }
  if (p !== end) return undefined
  if (i < 16) {
    if (ellipsis < 0) return undefined
    const tail = i - ellipsis
    ip.copyWithin(16 - tail, ellipsis, i)
    ip.fill(0, ellipsis, 16 - tail)
  } else if (ellipsis >= 0) {
    // "::" must stand for at least one zero group.
    return undefined
  }
  return ip
}

/** An IPv4 or IPv6 address, accepted as Kubernetes accepts it (see {@link parseIPSloppy}). */
export const isValidIP = (value: string): ReadonlyArray<string> =>
  parseIPSloppy(value) === undefined
    ? ["must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"]
    : NONE
