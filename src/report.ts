// What a run tells the operator. Commands emit events; a reporter renders them (human lines or JSON lines).
export type RunEvent =
  | { readonly type: 'start'; readonly command: string; readonly tag: string; readonly destination: string;
      readonly files: number; readonly bytes: number }
  | { readonly type: 'file'; readonly path: string; readonly key: string; readonly action: 'uploaded' | 'reused' | 'copied';
      readonly bytes: number }
  | { readonly type: 'retry'; readonly what: string; readonly attempt: number; readonly error: string }
  | { readonly type: 'info'; readonly message: string }
  | { readonly type: 'warning'; readonly message: string }
  | { readonly type: 'progress'; readonly doneFiles: number; readonly totalFiles: number;
      readonly doneBytes: number; readonly totalBytes: number }
  | { readonly type: 'summary'; readonly command: string; readonly tag: string; readonly ok: boolean;
      readonly files: number; readonly uploadedFiles: number; readonly reusedFiles: number; readonly copiedFiles: number;
      readonly bytes: number; readonly uploadedBytes: number; readonly seconds: number;
      readonly mbPerSecond: number; readonly manifest?: string; readonly failures: readonly string[] };

export interface Reporter {
  emit(event: RunEvent): void;
}

export const silentReporter: Reporter = { emit: () => {} };
