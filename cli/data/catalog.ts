/**
 * The public data sets `multigym data fetch` knows: where each file comes from (a pinned upstream
 * commit), where it lands in the data directory, and its SHA-256. The layout is the one the
 * environments read (`gsm8k/test.jsonl`, `humaneval/HumanEval.jsonl`, `bfcl/…`), so a directory
 * filled by `data fetch` can be passed as `--data` / `MULTIGYM_DATA`.
 */

/** One file of a data set. */
export interface DataFile {
  /** Path inside the data directory (and inside a mirror), e.g. `gsm8k/test.jsonl`. */
  path: string;
  /** Canonical download URL (pinned commit). Absent: only a mirror serves it. */
  url?: string;
  /** Expected SHA-256 of the downloaded bytes, lower-case hex. */
  sha256: string;
  /** Size in bytes (for the progress bar when the server sends no length). */
  bytes: number;
  /** Also write the gunzipped content here, checked against `sha256`. */
  gunzipTo?: { path: string; sha256: string };
}

/** One data set. */
export interface DataSet {
  name: string;
  /** Licence and origin, printed before the download. */
  license: string;
  source: string;
  files: DataFile[];
}

const gh = (repo: string, commit: string, path: string) =>
  `https://raw.githubusercontent.com/${repo}/${commit}/${path}`;

const GSM8K = (f: string) =>
  gh('openai/grade-school-math', '3101c7d5072418e28b9008a6636bde82a006892c', `grade_school_math/data/${f}`);
const BFCL = (f: string) =>
  gh(
    'ShishirPatil/gorilla',
    '6ea57973c7a6097fd7c5915698c54c17c5b1b6c8',
    `berkeley-function-call-leaderboard/bfcl_eval/data/${f}`,
  );

const bfclFiles: [string, string, number][] = [
  ['BFCL_v4_simple_python.json', '82dd63ba502eb2520c6b5d1d9a5c4b590e03ff261565175561f6228a367d1991', 283_274],
  ['BFCL_v4_multiple.json', 'aef168155ebd74b7ac2401198b201343bc7d16d7a3d7e0d4e6d8ee82c6969b2a', 316_583],
  ['BFCL_v4_parallel.json', '19f51a82eff42e5d62541aa500115a056eb78f437c2ba1f10415fd7c8e5dda84', 171_896],
  [
    'BFCL_v4_parallel_multiple.json',
    '8863ea8433239f55c5f016154cf0830853c89f693c6ea270396a2fa121960579',
    347_080,
  ],
  [
    'possible_answer/BFCL_v4_simple_python.json',
    '90cd5bc653690ee8e459b5b3f3fc9458606f7f3fcbf795bb51b7dc581f8c86dc',
    63_627,
  ],
  [
    'possible_answer/BFCL_v4_multiple.json',
    '244e00ce9395df948bcafc7bee64e8f9c87ef70887587d83cae45b13699f3047',
    32_254,
  ],
  [
    'possible_answer/BFCL_v4_parallel.json',
    '8a6aa19c1adddc6a5a2f7e40f9dbf30cc7e95815e7b830c90589ab318229e0f0',
    66_005,
  ],
  [
    'possible_answer/BFCL_v4_parallel_multiple.json',
    '5ebf24f458c1f16300c05505d83d6f0a1b68b79be273a033febd0d4f840507e3',
    74_602,
  ],
];

const haystackFiles: [string, string, number][] = [
  ['alice_in_wonderland.txt', '8848bba43e5c75c5a2b1e248b51edab248878cca60d916b6685a57f491ac86d3', 150_404],
  ['news_from_nowhere.txt', '6e290df3aef49d7c7aab5b6156d58270d3257ebd2c5d57609e59d7bdfa7d6fd4', 422_830],
  ['jack_sheppard.txt', '902b3af0c7d7b2de8b242ab8b84e02ed587daf8d671975022b34bf1337bf75d9', 895_018],
  ['katrine.txt', '8a02e173f30ec18272b4b89d1a14ed05e7508355f4f02db02e5a0eb3d444f170', 346_880],
  [
    'log_school_house_on_the_columbia.txt',
    '3fa1828ea70fe25a8a92f815c0270d7f9f9a7f76d14dc065a1ea0d68673d76e7',
    253_737,
  ],
  ['american_adventures.txt', '02125b34f7e9ec7b083c502e879c1eb163943f8c4f0340d0d32fa3c5ab5482be', 970_821],
  ['manifest.jsonl', 'f15ff133b7f827280dc36e73e77f33b72b60192d34049a35b2c8405c2978b7f0', 2_711],
];

/** Every data set `data fetch` knows, by name. */
export const DATA_SETS: Record<string, DataSet> = {
  gsm8k: {
    name: 'gsm8k',
    license: 'MIT (c) 2021 OpenAI',
    source: 'github.com/openai/grade-school-math @3101c7d',
    files: [
      {
        path: 'gsm8k/test.jsonl',
        url: GSM8K('test.jsonl'),
        sha256: '3730d312f6e3440559ace48831e51066acaca737f6eabec99bccb9e4b3c39d14',
        bytes: 749_738,
      },
      {
        path: 'gsm8k/train.jsonl',
        url: GSM8K('train.jsonl'),
        sha256: '17f347dc51477c50d4efb83959dbb7c56297aba886e5544ee2aaed3024813465',
        bytes: 4_166_206,
      },
    ],
  },
  math500: {
    name: 'math500',
    license: 'MIT (MATH, Hendrycks et al. 2021; PRM800K split, OpenAI)',
    source:
      'github.com/ZubinGou/math-evaluation-harness @db77bc6 (byte-identical to prm800k math_splits/test.jsonl)',
    files: [
      {
        path: 'math500/test.jsonl',
        url: gh(
          'ZubinGou/math-evaluation-harness',
          'db77bc6bb2a17c90ed2d63e88ebd8c40a82858c5',
          'data/math_oai/test.jsonl',
        ),
        sha256: '35dc41080a3680858b27fa7e0533d2d547825316fc5dafe5d316f4ccc5a06132',
        bytes: 446_564,
      },
    ],
  },
  humaneval: {
    name: 'humaneval',
    license: 'MIT (c) OpenAI',
    source: 'github.com/openai/human-eval @6d43fb9',
    files: [
      {
        path: 'humaneval/HumanEval.jsonl.gz',
        url: gh('openai/human-eval', '6d43fb980f9fee3c892a914eda09951f772ad10d', 'data/HumanEval.jsonl.gz'),
        sha256: 'b796127e635a67f93fb35c04f4cb03cf06f38c8072ee7cee8833d7bee06979ef',
        bytes: 44_877,
        gunzipTo: {
          path: 'humaneval/HumanEval.jsonl',
          sha256: '1d49078ba3e2b196b9344535bef34a43021f038fad9561d6ee7c53450609a6a2',
        },
      },
    ],
  },
  bfcl: {
    name: 'bfcl',
    license: 'Apache-2.0 (Berkeley Function-Calling Leaderboard)',
    source: 'github.com/ShishirPatil/gorilla @6ea5797',
    files: bfclFiles.map(([f, sha256, bytes]) => ({ path: `bfcl/${f}`, url: BFCL(f), sha256, bytes })),
  },
  haystack: {
    name: 'haystack',
    license: 'public domain in the USA (Project Gutenberg texts via GITenberg, boilerplate removed)',
    source: 'mirror only: the cleaned texts are not byte-identical to any upstream file',
    files: haystackFiles.map(([f, sha256, bytes]) => ({ path: `haystack_gutenberg/${f}`, sha256, bytes })),
  },
};

/** The sets `data fetch all` means: every set with a canonical source, plus `haystack` when a mirror is given. */
export function allSetNames(mirror: boolean, catalog: Record<string, DataSet> = DATA_SETS): string[] {
  return Object.values(catalog)
    .filter((s) => mirror || s.files.every((f) => f.url))
    .map((s) => s.name);
}

/** The default data directory: `<MULTIGYM_HOME or ./.multigym>/data`. */
export const defaultDataDir = (home: string): string => `${home.replace(/\/+$/, '')}/data`;
