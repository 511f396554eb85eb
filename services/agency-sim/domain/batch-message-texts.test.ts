import fc from 'fast-check';
import { batchRequestBody } from '../../../shared/messaging/message-batch.js';
import { batchMessageTexts } from './batch-message-texts.js';

/** What JSON.parse makes of each entry's resource: the texts must mean exactly this. */
const parsedResources = (text: string) => (JSON.parse(text) as { entry: { resource?: unknown }[] }).entry.map((e) => e.resource);

describe("A batch body's message texts (what agency-sim keeps as each message's bytes)", () => {
  it('Gives each message exactly as the hub wrote it into the batch', () => {
    const messages = [{ resourceType: 'Bundle', id: 'a', entry: [{ resource: { text: 'say "hi" \\\\' } }] }, { resourceType: 'Bundle', id: 'b' }].map((m, i) =>
      JSON.stringify(m, null, i),
    );
    expect(batchMessageTexts(batchRequestBody('batch-1', messages))).toEqual(messages);
  });

  it('Means what JSON.parse reads, for any messages and any layout of the batch', () => {
    const message = fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 6 });
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 4 }), fc.constantFrom(undefined, 0, 1, 2, '\t'), (messages, space) => {
        const compact = batchRequestBody('b', messages.map((m) => JSON.stringify(m)));
        // The whole batch laid out again (spaces, new lines): the texts move, their meaning does not.
        for (const text of [compact, JSON.stringify(JSON.parse(compact), null, space)]) {
          const texts = batchMessageTexts(text);
          expect(texts).toHaveLength(messages.length);
          expect(texts!.map((t) => JSON.parse(t!) as unknown)).toEqual(parsedResources(text));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('Gives up where JSON.parse would read a key it does not: escaped, or given twice', () => {
    const m = '{"resourceType":"Bundle"}';
    expect(batchMessageTexts(`{"entr\\u0079":[{"resource":${m}}]}`)).toBeUndefined();
    expect(batchMessageTexts(`{"entry":[{"resource":${m}}],"entry":[]}`)).toBeUndefined();
    expect(batchMessageTexts(`{"entry":[{"resource":${m},"resource":{}}]}`)).toBeUndefined();
    expect(batchMessageTexts(`{"entry":[{"r\\u0065source":${m}}]}`)).toBeUndefined();
    expect(batchMessageTexts(`[{"entry":[]}]`)).toBeUndefined();
  });

  it('Names no text for an entry without a resource or that is not an object', () => {
    expect(batchMessageTexts('{"entry":[{"request":{}}, 7, {"resource":{"a":[1,{"b":"}"}]}}]}')).toEqual([undefined, undefined, '{"a":[1,{"b":"}"}]}']);
    expect(batchMessageTexts('{"type":"batch"}')).toBeUndefined();
  });
});
