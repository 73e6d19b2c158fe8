import { Result, Schema } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  formatLabelSelector,
  LabelSelector,
  type Labels,
  labelSelectorAsSelector,
  makeRequirement,
  type Operator,
  parseSelector,
  type Requirement,
  Selector,
  selectorFromSet,
} from "../src/labels.ts"
import { isQualifiedName, isValidLabelValue } from "../src/names.ts"

const parse = (s: string): Selector => {
  const r = parseSelector(s)
  if (Result.isFailure(r)) throw new Error(`${s}: ${r.failure.message}`)
  return r.success
}
const parseError = (s: string): string => {
  const r = parseSelector(s)
  if (Result.isSuccess(r)) throw new Error(`${s} parsed as ${r.success.toString()}`)
  expect(r.failure._tag).toBe("LabelSelectorError")
  return r.failure.message
}

const NAME_PART =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
const LABEL_VALUE =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"

describe("parseSelector: canonical string form", () => {
  const cases: ReadonlyArray<readonly [string, string]> = [
    ["", ""],
    ["  ", ""],
    ["x=a,y=b,z=c", "x=a,y=b,z=c"],
    ["z=c,x=a,y=b", "x=a,y=b,z=c"],
    ["x!=a,y=b", "x!=a,y=b"],
    ["x=,z= ", "x=,z="],
    ["x= ,z= ", "x=,z="],
    ["x==a", "x==a"],
    ["!x", "!x"],
    ["! x", "!x"],
    ["x", "x"],
    ["x>1", "x>1"],
    ["x>1,z<5", "x>1,z<5"],
    ["x in (b,a)", "x in (a,b)"],
    ["x in(a)", "x in (a)"],
    ["x notin (a , b,a)", "x notin (a,b)"],
    ["x in ()", "x in ()"],
    ["x in (,a)", "x in (,a)"],
    ["x in (a,,b)", "x in (,a,b)"],
    ["x in (a,)", "x in (,a)"],
    ["x in (in,notin)", "x in (in,notin)"],
    ["notin=in", "notin=in"],
    ["x=in", "x=in"],
    ["app=x,tier!=y,env in (a,b),!foo, foo", "app=x,env in (a,b),!foo,foo,tier!=y"],
    ["example.com/tier in (frontend, backend)", "example.com/tier in (backend,frontend)"],
    ["a\tin\n(b)\r", "a in (b)"],
    // Kubernetes' reader: NUL ends the input at a token start, and separates after a token.
    ["a \u0000b", "a"],
    ["a,\u0000b", "a,b"],
    ["a\u0000=b", "a=b"],
  ]
  for (const [input, printed] of cases) {
    it(`${JSON.stringify(input)} -> ${JSON.stringify(printed)}`, () => {
      const sel = parse(input)
      expect(sel.toString()).toBe(printed)
      expect(parse(printed).toString()).toBe(printed)
    })
  }
  it("keeps requirements with the same key in their order, sorted by key", () => {
    const sel = parse("b,a=1,!a")
    expect(sel.requirements.map((r) => r.operator)).toEqual(["=", "!", "exists"])
  })
})

describe("parseSelector: Kubernetes' error messages", () => {
  const cases: ReadonlyArray<readonly [string, string]> = [
    [
      "x=a||y=b",
      `unable to parse requirement: values[0][x]: Invalid value: "a||y": ${LABEL_VALUE}`,
    ],
    ["x==a==b", "found '==', expected: ',' or 'end of string'"],
    ["!x=a", "found '=', expected: ',' or 'end of string'"],
    ["x=a b", "found 'b', expected: ',' or 'end of string'"],
    [",x", "found ',', expected: !, identifier, or 'end of string'"],
    ["(", "found '(', expected: !, identifier, or 'end of string'"],
    ["x,", "found '', expected: identifier after ','"],
    ["x,,y", "found ',', expected: identifier after ','"],
    ["!", "unable to parse requirement: found '', expected: identifier"],
    ["x (", "unable to parse requirement: found '(', expected: in, notin, =, ==, !=, gt, lt"],
    ["x in", "unable to parse requirement: found '' expected: '('"],
    ["x in a", "unable to parse requirement: found 'a' expected: '('"],
    ["x in (", "unable to parse requirement: found '', expected: ',', ')' or identifier"],
    ["x in (=", "unable to parse requirement: found '=', expected: ',', ')' or identifier"],
    ["x in (a b)", "unable to parse requirement: found 'b', expected: ',' or ')'"],
    ["x in (a", "unable to parse requirement: found '', expected: ',' or ')'"],
    ["x in (a,=)", "unable to parse requirement: found '=', expected: ',', or identifier"],
    ["x=(", "unable to parse requirement: found '(', expected: identifier"],
    [
      "x>a",
      "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' operators, the value must be an integer",
    ],
    [
      "x>99999999999999999999",
      "unable to parse requirement: values[0]: Invalid value: \"99999999999999999999\": for 'Gt', 'Lt' operators, the value must be an integer",
    ],
    ["k_", `unable to parse requirement: <nil>: Invalid value: "k_": ${NAME_PART}`],
    ["-k=v", `unable to parse requirement: <nil>: Invalid value: "-k": ${NAME_PART}`],
    [
      `x=${"a".repeat(64)}`,
      `unable to parse requirement: values[0][x]: Invalid value: "${"a".repeat(64)}": must be no more than 63 characters`,
    ],
  ]
  for (const [input, message] of cases) {
    it(JSON.stringify(input), () => {
      expect(parseError(input)).toBe(message)
    })
  }
  it("keywords are identifiers where a key or value is expected", () => {
    expect(parse("in").toString()).toBe("in")
    expect(parse("!in").toString()).toBe("!in")
  })
})

describe("Selector.matches", () => {
  const cases: ReadonlyArray<readonly [string, Labels, boolean]> = [
    ["", { x: "y" }, true],
    ["x=y", { x: "y" }, true],
    ["x=y,z=w", { x: "y", z: "w" }, true],
    ["x!=y,z!=w", { x: "z", z: "a" }, true],
    ["notin=in", { notin: "in" }, true],
    ["x", { x: "z" }, true],
    ["!x", { y: "z" }, true],
    ["x>1", { x: "2" }, true],
    ["x<1", { x: "0" }, true],
    ["x<1", { x: "-1" }, true],
    ["x>1", { x: "+3" }, true],
    ["x<1", { x: "-3" }, true],
    ["x<1", { x: "99999999999999999999" }, false],
    ["x in (a,b)", { x: "b" }, true],
    ["x notin (a,b)", { x: "c" }, true],
    ["x notin (a,b)", {}, true],
    ["x=", { x: "" }, true],
    ["x=z", {}, false],
    ["x=y", { x: "z" }, false],
    ["x=y,z=w", { x: "w", z: "w" }, false],
    ["x!=y,z!=w", { x: "z", z: "w" }, false],
    ["x", { y: "z" }, false],
    ["!x", { x: "z" }, false],
    ["x>1", { x: "0" }, false],
    ["x>1", { x: "1" }, false],
    ["x<1", { x: "2" }, false],
    ["x>1", { x: "a" }, false],
    ["x>1", {}, false],
    ["x in (a,b)", { x: "c" }, false],
    ["x in (a,b)", {}, false],
    ["x notin (a,b)", { x: "a" }, false],
    ["x=", {}, false],
    // Inherited object properties are not labels.
    ["constructor", {}, false],
    ["!constructor", {}, true],
    ["toString!=x", {}, true],
    ["x in (a,b,c,d,e,f,g,h,i,j)", { x: "j" }, true],
    ["x in (a,b,c,d,e,f,g,h,i,j)", { x: "k" }, false],
  ]
  for (const [sel, labels, expected] of cases) {
    it(`${JSON.stringify(sel)} on ${JSON.stringify(labels)} is ${expected}`, () => {
      expect(parse(sel).matches(labels)).toBe(expected)
    })
  }
  it("everything matches all, nothing matches none", () => {
    expect(Selector.everything().matches({})).toBe(true)
    expect(Selector.everything().empty()).toBe(true)
    expect(Selector.nothing().matches({})).toBe(false)
    expect(Selector.nothing().matches({ a: "b" })).toBe(false)
    expect(Selector.nothing().empty()).toBe(false)
    expect(Selector.nothing().toString()).toBe("")
    expect(
      Selector.nothing()
        .add(...parse("a").requirements)
        .matches({ a: "b" }),
    ).toBe(false)
  })
  it("add, requiresExactMatch and selectorFromSet", () => {
    const sel = parse("b=1").add(...parse("a in (x)").requirements)
    expect(sel.toString()).toBe("a in (x),b=1")
    expect(sel.requiresExactMatch("a")).toBe("x")
    expect(sel.requiresExactMatch("b")).toBe("1")
    expect(sel.requiresExactMatch("c")).toBeUndefined()
    expect(parse("a in (x,y)").requiresExactMatch("a")).toBeUndefined()
    expect(parse("a!=x").requiresExactMatch("a")).toBeUndefined()
    const fromSet = selectorFromSet({ tier: "web", app: "x" })
    expect(fromSet.toString()).toBe("app=x,tier=web")
    expect(fromSet.matches({ app: "x", tier: "web", extra: "1" })).toBe(true)
    expect(fromSet.matches({ app: "x" })).toBe(false)
    expect(selectorFromSet({}).empty()).toBe(true)
    expect(JSON.stringify({ s: fromSet })).toBe('{"s":"app=x,tier=web"}')
  })
})

describe("LabelSelector (wire) to Selector", () => {
  const convert = (ls: LabelSelector | null | undefined) => labelSelectorAsSelector(ls)
  const message = (ls: LabelSelector) => {
    const r = convert(ls)
    if (Result.isSuccess(r)) throw new Error("expected an error")
    return r.failure.message
  }
  it("null selects nothing, empty selects everything", () => {
    const none = convert(null)
    const all = convert({})
    expect(Result.isSuccess(none) && none.success.isNothing).toBe(true)
    expect(Result.isSuccess(all) && all.success.empty()).toBe(true)
    expect(Result.isSuccess(all) && all.success.matches({ any: "thing" })).toBe(true)
    expect(formatLabelSelector({})).toBe("<none>")
    expect(formatLabelSelector(undefined)).toBe("<none>")
    expect(formatLabelSelector({ matchLabels: {}, matchExpressions: [] })).toBe("<none>")
  })
  it("matchLabels and matchExpressions become sorted requirements", () => {
    const ls: LabelSelector = {
      matchLabels: { foo: "bar", app: "web" },
      matchExpressions: [
        { key: "baz", operator: "In", values: ["qux", "norf"] },
        { key: "env", operator: "NotIn", values: ["prod"] },
        { key: "gpu", operator: "Exists" },
        { key: "legacy", operator: "DoesNotExist", values: [] },
      ],
    }
    expect(formatLabelSelector(ls)).toBe(
      "app=web,baz in (norf,qux),env notin (prod),foo=bar,gpu,!legacy",
    )
    const r = convert(ls)
    expect(Result.isSuccess(r)).toBe(true)
    if (Result.isSuccess(r)) {
      expect(r.success.matches({ app: "web", foo: "bar", baz: "qux", gpu: "a100" })).toBe(true)
      expect(r.success.matches({ app: "web", foo: "bar", baz: "qux" })).toBe(false)
      expect(r.success.matches({ app: "web", foo: "bar", baz: "qux", gpu: "", legacy: "" })).toBe(
        false,
      )
    }
  })
  it("reports Kubernetes' messages", () => {
    expect(message({ matchExpressions: [{ key: "a", operator: "Foo" }] })).toBe(
      '"Foo" is not a valid label selector operator',
    )
    expect(message({ matchExpressions: [{ key: "a", operator: "in", values: ["x"] }] })).toBe(
      '"in" is not a valid label selector operator',
    )
    expect(message({ matchExpressions: [{ key: "a", operator: "In" }] })).toBe(
      "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty",
    )
    expect(
      message({ matchExpressions: [{ key: "a", operator: "Exists", values: ["x", "y"] }] }),
    ).toBe(
      `values: Invalid value: []string{"x", "y"}: values set must be empty for exists and does not exist`,
    )
    expect(message({ matchLabels: { k_: "a$" } })).toBe(
      `[key: Invalid value: "k_": ${NAME_PART}, values[0][k_]: Invalid value: "a$": ${LABEL_VALUE}]`,
    )
    expect(message({ matchExpressions: [{ key: "", operator: "Exists" }] })).toBe(
      `key: Invalid value: "": name part must be non-empty; ${NAME_PART}`,
    )
    expect(formatLabelSelector({ matchExpressions: [{ key: "a", operator: "Foo" }] })).toBe(
      "<error>",
    )
  })
  it("makeRequirement checks value counts per operator", () => {
    const msg = (key: string, op: Operator, values?: ReadonlyArray<string>) => {
      const r = makeRequirement(key, op, values)
      return Result.isFailure(r) ? r.failure.message : "ok"
    }
    expect(msg("a", "=", ["x", "y"])).toBe(
      `values: Invalid value: []string{"x", "y"}: exact-match compatibility requires one single value`,
    )
    expect(msg("a", "gt", [])).toBe(
      "values: Invalid value: []string{}: for 'Gt', 'Lt' operators, exactly one value is required",
    )
    expect(msg("a", "lt", ["1"])).toBe("ok")
    expect(msg("a", "in", ["b", "a", "b"])).toBe("ok")
    const r = makeRequirement("a", "in", ["b", "a", "b"])
    expect(Result.isSuccess(r) && r.success.values).toEqual(["a", "b"])
  })
  it("the wire schema decodes Kubernetes' JSON and fills required strings", () => {
    const decode = Schema.decodeUnknownSync(LabelSelector)
    const encode = Schema.encodeSync(LabelSelector)
    const ls = decode({
      matchLabels: { app: "web" },
      matchExpressions: [{ key: "tier", operator: "In", values: ["a"] }, { operator: "Exists" }],
    })
    expect(ls.matchExpressions?.[1]).toEqual({ key: "", operator: "Exists" })
    expect(encode(ls)).toEqual({
      matchLabels: { app: "web" },
      matchExpressions: [
        { key: "tier", operator: "In", values: ["a"] },
        { key: "", operator: "Exists" },
      ],
    })
    expect(decode({})).toEqual({})
    expect(() => decode({ matchLabels: { a: 1 } })).toThrow()
    expect(() => decode({ matchExpressions: [{ key: "a", operator: 3 }] })).toThrow()
  })
})

// --- properties

const keys = ["a", "b", "app", "in", "example.com/tier", "x.y/z-1"] as const
const values = ["", "1", "2", "10", "v", "w", "notin"] as const
const ints = ["0", "1", "2", "10", "3"] as const
const labelInts = ["-3", "+4", "01", "99999999999999999999"] as const

const requirement: fc.Arbitrary<Requirement> = fc
  .record({
    key: fc.constantFrom(...keys),
    op: fc.constantFrom<Operator>("in", "notin", "=", "==", "!=", "exists", "!", "gt", "lt"),
    many: fc.uniqueArray(fc.constantFrom(...values), { minLength: 1, maxLength: 4 }),
    one: fc.constantFrom(...values),
    int: fc.constantFrom(...ints),
  })
  .map(({ key, op, many, one, int }) => {
    const vals =
      op === "in" || op === "notin"
        ? many
        : op === "exists" || op === "!"
          ? []
          : op === "gt" || op === "lt"
            ? [int]
            : [one]
    const r = makeRequirement(key, op, vals)
    if (Result.isFailure(r)) throw new Error(r.failure.message)
    return r.success
  })

const labelMap: fc.Arbitrary<Labels> = fc.dictionary(
  fc.constantFrom(...keys),
  fc.constantFrom(...values, ...ints, ...labelInts),
  { maxKeys: 6 },
)

/** A direct reading of Kubernetes' rules, written independently of the compiled matcher. */
const referenceMatch = (reqs: ReadonlyArray<Requirement>, labels: Labels): boolean =>
  reqs.every((r) => {
    const present = Object.hasOwn(labels, r.key)
    const value = present ? labels[r.key] : undefined
    const inSet = value !== undefined && r.values.includes(value)
    switch (r.operator) {
      case "in":
      case "=":
      case "==":
        return present && inSet
      case "notin":
      case "!=":
        return !present || !inSet
      case "exists":
        return present
      case "!":
        return !present
      case "gt":
      case "lt": {
        if (value === undefined || !/^[+-]?\d+$/.test(value)) return false
        const a = BigInt(value)
        if (a >= 2n ** 63n || a < -(2n ** 63n)) return false
        const b = BigInt(r.values[0]!)
        return r.operator === "gt" ? a > b : a < b
      }
      default:
        return false
    }
  })

describe("properties", () => {
  it("print then parse gives the same selector, also with extra whitespace", () => {
    fc.assert(
      fc.property(fc.array(requirement, { maxLength: 6 }), (reqs) => {
        const sel = Selector.fromRequirements(reqs)
        const text = sel.toString()
        const back = parse(text)
        expect(back.requirements).toEqual(sel.requirements)
        expect(back.toString()).toBe(text)
        const spaced = text.replaceAll(",", " , ").replaceAll("(", " ( ").replaceAll(")", " ) ")
        expect(parse(`  ${spaced}  `).toString()).toBe(text)
      }),
      { numRuns: 1000 },
    )
  })

  it("matching agrees with a reference implementation", () => {
    fc.assert(
      fc.property(fc.array(requirement, { maxLength: 4 }), labelMap, (reqs, labels) => {
        const sel = Selector.fromRequirements(reqs)
        expect(sel.matches(labels)).toBe(referenceMatch(reqs, labels))
        expect(parse(sel.toString()).matches(labels)).toBe(referenceMatch(reqs, labels))
      }),
      { numRuns: 2000 },
    )
  })

  it("LabelSelector and string form agree", () => {
    const expr = fc.record({
      key: fc.constantFrom(...keys),
      operator: fc.constantFrom("In", "NotIn", "Exists", "DoesNotExist"),
      values: fc.uniqueArray(fc.constantFrom(...values), { minLength: 1, maxLength: 3 }),
    })
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom(...keys), fc.constantFrom(...values), { maxKeys: 3 }),
        fc.array(expr, { maxLength: 3 }),
        labelMap,
        (matchLabels, exprs, labels) => {
          const ls: LabelSelector = {
            matchLabels,
            matchExpressions: exprs.map((e) =>
              e.operator === "In" || e.operator === "NotIn"
                ? e
                : { key: e.key, operator: e.operator },
            ),
          }
          const r = labelSelectorAsSelector(ls)
          expect(Result.isSuccess(r)).toBe(true)
          if (Result.isSuccess(r)) {
            const viaString = parse(r.success.toString())
            expect(viaString.matches(labels)).toBe(r.success.matches(labels))
          }
        },
      ),
      { numRuns: 500 },
    )
  })

  it("parsing arbitrary text never throws and accepted keys and values are valid", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom(..."ab=!(),<> \tinot1-./_x"), maxLength: 30 }),
        (text) => {
          const r = parseSelector(text)
          if (Result.isSuccess(r)) {
            for (const req of r.success.requirements) {
              expect(isQualifiedName(req.key)).toEqual([])
              for (const v of req.values) expect(isValidLabelValue(v)).toEqual([])
            }
            expect(parse(r.success.toString()).toString()).toBe(r.success.toString())
          } else expect(r.failure.message.length).toBeGreaterThan(0)
        },
      ),
      { numRuns: 2000 },
    )
  })
})
