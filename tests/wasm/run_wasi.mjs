// run_wasi.mjs — runs a warden test module under Node's WASI (node:wasi).
//   node run_wasi.mjs test_bump.wasm     the suite, then every abort case it
//                                        announced, each in its own process:
//                                        it must trap after printing its line
//   node run_wasi.mjs --plain prog.wasm  one run; its exit status is ours
//   node run_wasi.mjs --one prog.wasm args...   (internal) one run with args
import { WASI } from 'node:wasi';
import { readFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

process.removeAllListeners('warning'); // WASI's "experimental" notice

async function runOnce(wasmPath, args) {
  const wasi = new WASI({ version: 'preview1', args: [wasmPath, ...args], env: {}, returnOnExit: true });
  const module = await WebAssembly.compile(await readFile(wasmPath));
  const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
  try {
    return wasi.start(instance);
  } catch (e) {
    if (e instanceof WebAssembly.RuntimeError) {
      process.stderr.write(`wasm trap: ${e.message}\n`);
      return 134; // what abort() would give natively
    }
    throw e;
  }
}

function spawnOne(wasmPath, args) {
  const self = fileURLToPath(import.meta.url);
  return spawnSync(process.execPath,
    ['--no-warnings', '--experimental-wasi-unstable-preview1', self, '--one', wasmPath, ...args],
    { encoding: 'utf8' });
}

const argv = process.argv.slice(2);
if (argv[0] === '--one') {
  process.exit(await runOnce(argv[1], argv.slice(2)));
} else if (argv[0] === '--plain') {
  const rc = await runOnce(argv[1], argv.slice(2));
  console.log(`${argv[1]}: exit status ${rc}`);
  process.exit(rc);
} else {
  const wasmPath = argv[0];
  const main = spawnOne(wasmPath, []);
  process.stdout.write(main.stdout);
  process.stderr.write(main.stderr);
  if (main.status !== 0) {
    console.error(`run_wasi: ${wasmPath} failed with status ${main.status}`);
    process.exit(1);
  }
  const cases = [...main.stdout.matchAll(/^ABORT-CASE (\d+) (.*)$/gm)];
  let failed = 0;
  for (const [, n, expected] of cases) {
    const r = spawnOne(wasmPath, ['--abort-case', n]);
    const ok = r.status === 134 && r.stderr.includes(expected) && /(^|\n)warden: /.test(r.stderr);
    console.log(`abort case ${n}: ${ok ? 'trapped with' : 'FAILED, expected'} "${expected}"`);
    if (!ok) {
      console.log(`  status ${r.status}, stderr:\n${r.stderr}`);
      failed++;
    }
  }
  console.log(`${cases.length - failed}/${cases.length} abort cases passed`);
  process.exit(failed || cases.length === 0 ? 1 : 0);
}
