import { benchLlm } from './bench/llm.ts';
const r = await benchLlm({ iterations: 200, warmup: 30 });
console.log(JSON.stringify(r.hoistOwnMs));
const G = globalThis as any;
for (const k of ['__p1', '__pre', '__p2', '__post']) console.log(k, (G[k] / 230).toFixed(2));
