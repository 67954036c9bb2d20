import { fileURLToPath } from 'node:url';

/** A file in the package's mappings/ folder, found next to the code (src/ and dist/ alike), from any working directory. */
export const shipped = (file: string): string => fileURLToPath(new URL(`../../mappings/${file}`, import.meta.url));
