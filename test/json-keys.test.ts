// A key given twice in one JSON object (fabric/json.ts duplicateKey): JSON.parse keeps the last
// silently, so a config, model, budget, manifest or sweep plan with `"fabric"` twice would run the
// second without a word. The scanner names the path and line, and is not fooled by braces, commas
// and quotes inside strings, by escapes that spell the same key, or by equal keys in different objects.
import { describe, it, expect } from 'vitest';
import { duplicateKey, parseJsonText } from '../fabric/json.js';
import { setLayer, FLAG_NAMES } from '../sim/config.js';
import { UserError } from '../fabric/errors.js';

describe('keys given twice in one JSON object', () => {
  it('names the path and the line', () => {
    expect(duplicateKey('{"fabric": {"L": 16}, "fabric": {"L": 32}}')).toEqual({ path: 'fabric', line: 1 });
    expect(duplicateKey('{\n "a": {\n  "b": 1,\n  "b": 2\n }\n}')).toEqual({ path: 'a.b', line: 4 });
    expect(duplicateKey('{"stages": [{"ew": [1]}, {"ew": [1], "ew": [2]}]}')).toEqual({ path: 'stages[1].ew', line: 1 });
    expect(duplicateKey('[[1, 2], {"x": 1, "y": {"z": 0, "z": 1}}]')).toEqual({ path: '[1].y.z', line: 1 });
    // escapes that spell the same key are the same key
    expect(duplicateKey('{"a": 1, "\\u0061": 2}')).toEqual({ path: 'a', line: 1 });
  });

  it('lets through what only looks alike', () => {
    for (const text of [
      '{"a": 1, "b": 2}',
      '[{"a": 1}, {"a": 2}]',
      '{"a": {"a": {"a": 1}}}',
      '{"x": "{\\"a\\": 1, \\"a\\": 2}", "y": "a"}',
      '{"a": ["a", "a"], "b": "\\\\", "c": "\\""}',
      '{"": 1, " ": 2}',
      '"a"',
      '[]',
    ]) {
      JSON.parse(text); // every case is valid JSON
      expect(duplicateKey(text), text).toBeNull();
    }
  });

  it('is refused wherever dtca reads JSON: files and --set values', () => {
    expect(() => parseJsonText('{"seed": 1, "seed": 2}', 'c.json')).toThrow(UserError);
    expect(() => parseJsonText('{"seed": 1, "seed": 2}', 'c.json')).toThrow(/^c\.json: "seed" is given twice \(line 1\)/);
    // named as a library caller's sets[0], or as the command line's --set
    expect(() => setLayer('fabric={"L": 16, "L": 32}')).toThrow(/^sets\[0\] fabric=.*: "L" is given twice/);
    expect(() => setLayer('fabric={"L": 16, "L": 32}', FLAG_NAMES)).toThrow(/^--set fabric=.*: "L" is given twice/);
    expect(setLayer('description=a "b" b').raw).toEqual({ description: 'a "b" b' }); // not JSON: a string, as before
  });
});
