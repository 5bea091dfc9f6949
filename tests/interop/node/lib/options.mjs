// Command-line options with environment fallbacks: `--token-key FILE` or INTEROP_TOKEN_KEY=FILE.
import { parseArgs } from 'node:util';

/** The environment variable that stands in for an option: --token-key -> INTEROP_TOKEN_KEY. */
export function envName(option) {
  return `INTEROP_${option.toUpperCase().replaceAll('-', '_')}`;
}

/**
 * Read `spec` ({name: {help, required?, default?}}) from argv, then the environment, then defaults.
 * Missing required options stop the script with a message naming each option and its variable.
 */
export function readOptions(spec, argv = process.argv.slice(2), env = process.env) {
  const options = Object.fromEntries(Object.keys(spec).map((name) => [name, { type: 'string' }]));
  const { values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  const result = {};
  const missing = [];
  for (const [name, { required = false, default: fallback }] of Object.entries(spec)) {
    const value = values[name] ?? env[envName(name)] ?? fallback;
    if (required && (value === undefined || value === '')) missing.push(`--${name} (or ${envName(name)})`);
    result[name] = value;
  }
  if (missing.length) {
    const lines = Object.entries(spec).map(([name, { help }]) => `  --${name}: ${help}`);
    throw new Error(`missing options: ${missing.join(', ')}\noptions:\n${lines.join('\n')}`);
  }
  return result;
}
