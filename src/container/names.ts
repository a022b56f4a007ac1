// Random container names in Docker's style: adjective_scientist.
import { randomInt } from '../sys/random.js';

const adjectives = [
  'admiring', 'agitated', 'amazing', 'angry', 'awesome', 'beautiful', 'blissful', 'bold', 'boring', 'brave',
  'busy', 'charming', 'clever', 'compassionate', 'competent', 'confident', 'cool', 'cranky', 'crazy', 'dazzling',
  'determined', 'distracted', 'dreamy', 'eager', 'ecstatic', 'elastic', 'elated', 'elegant', 'eloquent', 'epic',
  'exciting', 'fervent', 'festive', 'flamboyant', 'focused', 'friendly', 'frosty', 'funny', 'gallant', 'gifted',
  'goofy', 'gracious', 'great', 'happy', 'hardcore', 'heuristic', 'hopeful', 'hungry', 'infallible', 'inspiring',
  'intelligent', 'interesting', 'jolly', 'jovial', 'keen', 'kind', 'laughing', 'loving', 'lucid', 'magical',
  'modest', 'musing', 'mystifying', 'naughty', 'nervous', 'nice', 'nifty', 'nostalgic', 'objective', 'optimistic',
  'peaceful', 'pedantic', 'pensive', 'practical', 'priceless', 'quirky', 'quizzical', 'recursing', 'relaxed', 'reverent',
  'romantic', 'sad', 'serene', 'sharp', 'silly', 'sleepy', 'stoic', 'strange', 'stupefied', 'suspicious',
  'sweet', 'tender', 'thirsty', 'trusting', 'unruffled', 'upbeat', 'vibrant', 'vigilant', 'vigorous', 'wizardly',
  'wonderful', 'xenodochial', 'youthful', 'zealous', 'zen',
];

const scientists = [
  'agnesi', 'albattani', 'allen', 'archimedes', 'ardinghelli', 'babbage', 'banach', 'bardeen', 'bartik', 'bell',
  'bhabha', 'blackwell', 'bohr', 'booth', 'borg', 'bose', 'brahmagupta', 'brattain', 'brown', 'carson',
  'cerf', 'chandrasekhar', 'clarke', 'curie', 'darwin', 'davinci', 'diffie', 'dijkstra', 'easley', 'einstein',
  'elion', 'engelbart', 'euclid', 'euler', 'fermat', 'fermi', 'feynman', 'franklin', 'galileo', 'gauss',
  'goldberg', 'goodall', 'hamilton', 'hawking', 'heisenberg', 'hopper', 'hypatia', 'jackson', 'jang', 'johnson',
  'kalam', 'keller', 'kepler', 'knuth', 'kowalevski', 'lalande', 'lamarr', 'leakey', 'lovelace', 'lumiere',
  'mahavira', 'mayer', 'mccarthy', 'mcclintock', 'meitner', 'mendel', 'mirzakhani', 'montalcini', 'moore', 'morse',
  'napier', 'newton', 'nobel', 'noether', 'pascal', 'pasteur', 'payne', 'perlman', 'pike', 'poincare',
  'ramanujan', 'ride', 'ritchie', 'rosalind', 'sammet', 'shannon', 'shockley', 'sinoussi', 'stonebraker', 'swanson',
  'tesla', 'thompson', 'torvalds', 'turing', 'varahamihira', 'villani', 'wescoff', 'wilbur', 'williams', 'wing',
  'wozniak', 'wright', 'yalow', 'yonath',
];

export function randomName(attempt = 0): string {
  const name = `${adjectives[randomInt(adjectives.length)]}_${scientists[randomInt(scientists.length)]}`;
  // After a clash, Docker appends a digit; so do we.
  return attempt > 0 ? `${name}${randomInt(10)}` : name;
}

/** Docker's rule for user-given names. */
export const validName = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
